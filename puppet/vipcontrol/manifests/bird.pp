# @summary The BIRD glue vipcontrol needs: a writable /etc/bird and the include file's skeleton.
#
# bird.conf itself belongs to the operator's BIRD profile, which adds (see README.md):
#   include "/etc/bird/vipcontrol.conf";
# and, on the fabric sessions, `export where proto = "vipcontrol4";` (and "vipcontrol6" for IPv6);
# vipcontrol::bird_snippet() returns both lines for the configured names.
class vipcontrol::bird {
  if $vipcontrol::manage_bird_dir {
    # vipcontrol writes a temp file next to the include file and renames it: the directory must be
    # group-writable; setgid keeps new files in group bird, readable by BIRD.
    file { '/etc/bird':
      ensure => directory,
      owner  => 'bird',
      group  => 'bird',
      mode   => '2770',
    }
  }
  # Created once, empty: BIRD can start (and parse the exports) before vipcontrol ever ran. Never
  # replaced afterwards: the file is vipcontrol's from then on, so only its group and mode are kept.
  file { $vipcontrol::include_file:
    ensure  => file,
    replace => false,
    group   => 'bird',
    mode    => '0640',
    content => epp('vipcontrol/bird-include-skeleton.epp', {
      'protocol4' => $vipcontrol::protocol4,
      'protocol6' => $vipcontrol::protocol6,
    }),
  }
}
