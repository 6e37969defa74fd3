# @summary vipcontrol and viphealth on a node: the package, both configs, the BIRD glue, both services.
#
# A config change reloads the daemon (`systemctl reload`, synchronous: a file the daemon rejects fails
# the Puppet run and the running config stays); nothing here ever restarts a daemon. Every config file
# is checked with `vipctl config validate` before it replaces the old one.
#
# @param vips
#   vipcontrol.yaml `vips` (prefix, med, communities, ...), e.g. from Hiera.
# @param checks
#   viphealth.yaml `checks`. Empty: viphealth is stopped and disabled (it needs at least one check).
# @param node_name
#   vipcontrol.yaml `node`.
# @param settings
#   Further top-level keys of vipcontrol.yaml (api, loopback, health, log, redis, maintenance, ...).
# @param health_settings
#   Further top-level keys of viphealth.yaml (vipcontrol, heartbeat, log).
# @param include_file
#   vipcontrol.yaml `bird.includeFile`, created once as the empty skeleton so BIRD can start before
#   vipcontrol ever ran.
# @param protocol4
#   vipcontrol.yaml `bird.protocol4`: the static protocol bird.conf exports for IPv4.
# @param protocol6
#   vipcontrol.yaml `bird.protocol6`.
# @param package_ensure
#   The vipcontrol package: `installed`, `latest` or a version.
# @param manage_bird_dir
#   Make /etc/bird group-writable and setgid (2770 bird:bird): vipcontrol writes its include file there.
class vipcontrol (
  Array[Hash, 1] $vips,
  Array[Hash] $checks = [],
  String[1] $node_name = $facts['networking']['hostname'],
  Hash[String[1], Any] $settings = {},
  Hash[String[1], Any] $health_settings = {},
  Pattern[/\A\//] $include_file = '/etc/bird/vipcontrol.conf',
  String[1] $protocol4 = 'vipcontrol4',
  String[1] $protocol6 = 'vipcontrol6',
  String[1] $package_ensure = 'installed',
  Boolean $manage_bird_dir = true,
) {
  contain vipcontrol::install
  contain vipcontrol::bird
  contain vipcontrol::config
  contain vipcontrol::service

  Class['vipcontrol::install']
  -> Class['vipcontrol::bird']
  -> Class['vipcontrol::config']
  ~> Class['vipcontrol::service']
}
