/** Builds the probe for a check's `type`. */
import type { HealthCheckConfig } from '@vipcontrol/core';
import { BirdProtocolProbe } from './bird-protocol-probe.js';
import { ExecProbe } from './exec-probe.js';
import { HttpProbe } from './http-probe.js';
import { ProcessProbe } from './process-probe.js';
import type { Probe } from './probe.js';
import { TcpProbe } from './tcp-probe.js';

/** Throws when the check cannot be set up (e.g. an unreadable CA file): a config error, not a failing check. */
export function createProbe(check: HealthCheckConfig): Probe {
  switch (check.type) {
    case 'exec':
      return new ExecProbe(check);
    case 'tcp':
      return new TcpProbe(check);
    case 'http':
      return new HttpProbe(check);
    case 'process':
      return new ProcessProbe(check.pidfile !== undefined ? { pidfile: check.pidfile } : { processName: check.processName! });
    case 'bird-protocol':
      return new BirdProtocolProbe(check);
  }
}
