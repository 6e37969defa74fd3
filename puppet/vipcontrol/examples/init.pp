# Two VIPs, one check, on a Debian 12 node with the vipcontrol package installed and BIRD 2 peering
# with a route reflector at 10.255.9.1 (this node: 10.255.9.2, AS 65000 iBGP).
#
#   puppet apply --modulepath=/usr/share/doc/vipcontrol/puppet/.. examples/init.pp
#
# The bird.conf below stands for your own BIRD profile: what vipcontrol needs from it is the include
# line and the export filter (vipcontrol::bird_snippet() returns both).

class { 'vipcontrol':
  node_name => 'node1',
  vips      => [
    { 'prefix' => '198.51.100.10/32', 'med' => 100, 'communities' => ['65000:100'] },
    { 'prefix' => '198.51.100.11/32', 'med' => 100 },
  ],
  checks    => [
    # While BIRD's process is missing, 198.51.100.10/32 gets 1000 added to its MED.
    { 'name' => 'bird', 'type' => 'process', 'processName' => 'bird', 'vips' => ['198.51.100.10/32'], 'penalty' => 1000 },
  ],
}

$glue = vipcontrol::bird_snippet()
file { '/etc/bird/bird.conf':
  owner   => 'bird',
  group   => 'bird',
  mode    => '0640',
  content => @("BIRD"),
    # Managed by Puppet (vipcontrol example).
    router id 10.255.9.2;
    timeformat protocol "%s.%3f";
    protocol device {}
    ${glue['include']}
    protocol bgp fabric4 {
      local 10.255.9.2 as 65000;
      neighbor 10.255.9.1 as 65000;
      ipv4 { import none; ${glue['export4']} };
    }
    | BIRD
  require => Class['vipcontrol::bird'],
}
# BIRD reads the new bird.conf before vipcontrol's first apply (vipcontrol waits for BIRD anyway).
service { 'bird':
  ensure    => running,
  enable    => true,
  restart   => '/bin/systemctl reload bird',
  subscribe => File['/etc/bird/bird.conf'],
  before    => Class['vipcontrol::service'],
}
