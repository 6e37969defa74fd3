// viphealth as a library: the daemon, its parts and the probes (tests and the benchmark use them).
export { Viphealth, type ReloadSummary } from './viphealth.js';
export { CheckScheduler } from './scheduler.js';
export { Reporter, postReport, ReportRejectedError, REPORT_PATH } from './reporter.js';
export { createProbe } from './checks/create-probe.js';
export type { Probe, ProbeResult } from './checks/probe.js';
export { createLogger, type Logger } from './logger.js';
