# @summary The lines the operator's bird.conf needs for vipcontrol: the include (top level, before
#   the BGP protocols) and the export filter of the fabric sessions, per address family.
# @return [Hash] 'include', 'export4' and 'export6' lines
function vipcontrol::bird_snippet() >> Hash {
  {
    'include' => "include \"${vipcontrol::include_file}\";",
    'export4' => "export where proto = \"${vipcontrol::protocol4}\";",
    'export6' => "export where proto = \"${vipcontrol::protocol6}\";",
  }
}
