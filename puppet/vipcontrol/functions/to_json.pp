# @summary JSON text of a value (JSON is YAML: the daemons' parser reads it). Puppet 7 without
#   puppetlabs-stdlib has no to_json/to_yaml.
# @param value
#   Hashes, arrays, strings, numbers, booleans and undef.
# @return [String] the value as JSON
function vipcontrol::to_json(Any $value) >> String {
  case $value {
    Hash: {
      $pairs = $value.map |$key, $item| { "${vipcontrol::to_json(String($key))}: ${vipcontrol::to_json($item)}" }
      "{${join($pairs, ', ')}}"
    }
    Array: { "[${join($value.map |$item| { vipcontrol::to_json($item) }, ', ')}]" }
    String: {
      $escaped = regsubst(regsubst(regsubst(regsubst($value, '\\\\', '\\\\\\\\', 'G'), '"', '\\"', 'G'), "\n", '\\n', 'G'), "\t", '\\t', 'G')
      "\"${escaped}\""
    }
    Boolean, Numeric: { String($value) }
    Undef: { 'null' }
    default: { fail("vipcontrol::to_json: cannot write ${type($value)}") }
  }
}
