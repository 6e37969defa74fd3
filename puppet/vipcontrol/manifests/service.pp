# @summary Both daemons running and enabled; a config change reloads, never restarts.
#
# `systemctl reload` is synchronous for both units: it fails (and so does the Puppet run) when the
# daemon rejects the new file, and the running config stays. On the first run the service is started
# by `ensure => running` (Type=notify: vipcontrol once the first apply is done, viphealth once its checks
# have a first verdict, whether or not vipcontrol took them) before any reload is sent. viphealth is
# ordered after vipcontrol (a run whose vipcontrol fails to start leaves viphealth to the next run); a
# vipcontrol that fails later does not stop or block viphealth.
class vipcontrol::service {
  service { 'vipcontrol':
    ensure  => running,
    enable  => true,
    restart => '/bin/systemctl reload vipcontrol',
  }
  if $vipcontrol::checks.empty {
    service { 'viphealth':
      ensure => stopped,
      enable => false,
    }
  } else {
    service { 'viphealth':
      ensure  => running,
      enable  => true,
      restart => '/bin/systemctl reload viphealth',
      require => Service['vipcontrol'],
    }
  }
}
