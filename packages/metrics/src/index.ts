/**
 * @vipcontrol/metrics — the Prometheus side shared by vipcontrol and viphealth: the `/metrics`
 * listener and prom-client itself (re-exported so both daemons use the one copy).
 */
export {
  startMetricsServer, serveMetrics, formatListen, MetricsListenError, type MetricsListen, type MetricsLogger, type MetricsServer,
} from './metrics-server.js';
export { SnapshotRegistry } from './snapshot-registry.js';
export { Registry, Gauge, Counter, Histogram, collectDefaultMetrics } from 'prom-client';
