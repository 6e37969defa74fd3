/**
 * @vipcontrol/testlab — the one lab used by integration tests, the README's lab command and the
 * benchmarks: temp dirs, polling, real BIRD instances, real redis-server, and the network-namespace lab
 * (router + nodes + optional ExaBGP hosts) with vipcontrol/viphealth launchers.
 */
export { uniqueId } from './unique-id.js';
export { makeTempDir, type TempDir } from './temp-dir.js';
export { waitFor, WaitTimeoutError, type WaitOptions } from './wait-for.js';
export { freePort } from './free-port.js';
export { startBird, type BirdInstance, type StartBirdOptions } from './bird-instance.js';
export {
  birdBinaries, selectedBirdVersion, TESTED_BIRD_VERSIONS, DEFAULT_BIRD_VERSION, BIRD_VERSION_ENV, type BirdBinaries,
} from './bird-version.js';
export {
  startRedis, startSentinel, type RedisInstance, type StartRedisOptions, type SentinelInstance, type StartSentinelOptions,
} from './redis-instance.js';
export { ProcessError } from './managed-process.js';
export { CommandError, ipBatch, type ExecResult } from './netns.js';
export {
  Lab, deepMerge, vipcontrolDefaults,
  type LabHost, type LabOptions, type SessionInfo, type SessionStats, type DaemonStartOptions,
} from './lab.js';
export type { DaemonProcess } from './daemon-process.js';
export { ExabgpHost, healthcheckArgv, renderExabgpConfig, type ExabgpProcessSpec, type ExabgpStartOptions } from './exabgp-host.js';
export {
  renderRouterConfig, renderNodeConfig, nodeExport, routerProtocolNames, NODE_PROTOCOLS, EMPTY_VIPCONTROL_INCLUDE,
  type LabMode, type PeerSpec, type RouterConfigSpec, type NodeConfigSpec,
} from './bird-configs.js';
export { unixHttpRequest, type UnixHttpRequest, type UnixHttpResponse } from './unix-http.js';
export { cleanupStale, type StaleCleanup } from './cleanup-stale.js';
export { REPO_ROOT, repoPath } from './repo-path.js';
export { startTcpService, type TcpService } from './tcp-service.js';
export { flowSpread, type FlowSpread } from './lab-flows.js';
export {
  startFleetLab, viaNode, FLEET_VIPS, FLEET_SERVICE_PORT, FLEET_MED, FLEET_DRAIN_PENALTY, MAX_FLEET_NODES,
  type FleetLab, type FleetLabOptions,
} from './fleet-lab.js';
export { ms, p50p99, percentile, summarize, type Summary } from './stats.js';
export { markdownTable, replaceDocSection, type DocSection } from './doc-section.js';
export { startService, type Service } from './lab-service.js';
export { QUICK_MODE, longTier } from './test-tier.js';
export { promSample } from './prom-sample.js';
export { CONTAINER_ROOT, ensureContainerRoot, systemdContainerTool } from './systemd-container.js';
export { healthReportBody, type ReportedCheck } from './health-report-body.js';
export { startNotifyListener, type NotifyListener } from './notify-listener.js';
export { makeTlsCerts, type TlsCerts } from './tls-certs.js';
export { daemonStatus } from './daemon-status.js';
export { bestPath, bestPathMed } from './router-med.js';
export { SinceTracker } from './session-since.js';
export { procKiB } from './proc-memory.js';
export { startLoopbackVipcontrol, type LoopbackVipcontrol, type LoopbackVipcontrolOptions } from './loopback-vipcontrol.js';
export { pidExists } from './pid-exists.js';
