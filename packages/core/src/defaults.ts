/**
 * vipcontrol's defaults, apart from the schemas that apply them: the CLI needs the default paths
 * without loading the config validation (zod, yaml) on every start.
 */

/** DESIGN.md's default paths and the other defaults applied to absent keys. */
export const VIPCONTROL_DEFAULTS = Object.freeze({
  configFile: '/etc/vipcontrol/vipcontrol.yaml',
  birdSocket: '/run/bird/bird.ctl',
  includeFile: '/etc/bird/vipcontrol.conf',
  apiSocket: '/run/vipcontrol/vipcontrol.sock',
  stateFile: '/var/lib/vipcontrol/state.json',
  protocol4: 'vipcontrol4',
  protocol6: 'vipcontrol6',
  /** `configure timeout N`: BIRD rolls back by itself if vipcontrol dies between configure and confirm. */
  configureTimeout: '30s',
  commandTimeout: '5s',
  /** How long changes wait for an operator's pending `configure timeout` before applying over it (docs/bird.md). */
  operatorConfigureHold: '30s',
  /** How often BIRD is looked at for what others changed (`birdc configure`, `disable`, a session lost). */
  birdWatchInterval: '2s',
  apiSocketMode: '0660',
  loopbackInterface: 'lo',
  /** Large enough to lose against any healthy peer's MED, small enough to stay below the guard penalty. */
  drainPenalty: 100000,
  guardPenalty: 1000000,
  healthLease: '10s',
  /** A fresh node waits this long for viphealth's first report before announcing without it. */
  healthFirstReportWait: '10s',
  redisKeyPrefix: 'vipcontrol:',
  redisHeartbeat: '2s',
  redisTtl: '10s',
});
