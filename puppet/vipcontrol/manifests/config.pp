# @summary /etc/vipcontrol/vipcontrol.yaml and viphealth.yaml, each validated before it is installed.
class vipcontrol::config {
  $bird = {
    'bird' => {
      'includeFile' => $vipcontrol::include_file,
      'protocol4'   => $vipcontrol::protocol4,
      'protocol6'   => $vipcontrol::protocol6,
    } + $vipcontrol::settings.get('bird', {}),
  }
  $vipcontrol_yaml = { 'node' => $vipcontrol::node_name, 'vips' => $vipcontrol::vips } + $vipcontrol::settings + $bird

  file { '/etc/vipcontrol/vipcontrol.yaml':
    ensure       => file,
    owner        => 'root',
    group        => 'vipcontrol',
    mode         => '0640',
    content      => epp('vipcontrol/config.yaml.epp', { 'file' => 'vipcontrol.yaml', 'config' => $vipcontrol_yaml }),
    validate_cmd => '/usr/bin/vipctl config validate %',
  }

  unless $vipcontrol::checks.empty {
    file { '/etc/vipcontrol/viphealth.yaml':
      ensure       => file,
      owner        => 'root',
      group        => 'vipcontrol',
      mode         => '0640',
      content      => epp('vipcontrol/config.yaml.epp', {
        'file'   => 'viphealth.yaml',
        'config' => { 'checks' => $vipcontrol::checks } + $vipcontrol::health_settings,
      }),
      validate_cmd => '/usr/bin/vipctl config validate --kind viphealth %',
    }
  }
}
