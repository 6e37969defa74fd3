# @summary The vipcontrol package (its own Node.js runtime, units, vipctl, man pages).
class vipcontrol::install {
  package { 'vipcontrol':
    ensure => $vipcontrol::package_ensure,
  }
}
