/** The lab the end-to-end suites share: router + one node (no BFD), the stand-in service running on the node. */
import { join } from 'node:path';
import { daemonStatus, Lab, startService, waitFor, type LabHost, type Service } from '@vipcontrol/testlab';

export interface ServiceLab {
  lab: Lab;
  node: LabHost;
  port: number;
  pidfile: string;
  service: Service;
}

/** Creates the lab and starts the service; destroys the lab again if the service does not start. */
export async function startServiceLab(): Promise<ServiceLab> {
  const lab = await Lab.create({ nodes: 1, bfd: false });
  try {
    const node = lab.nodes[0]!;
    const port = 7000 + Math.floor(Math.random() * 1000);
    const pidfile = join(node.dir, 'svc.pid');
    return { lab, node, port, pidfile, service: await startService(node, port, pidfile) };
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/**
 * Waits until vipcontrol's health view holds viphealth's own verdicts — none held from before a restart,
 * none pending (never proven: their VIPs withheld) — and each check in `want` has that status. A phase that
 * waits on the router alone can be met too early: the lab's vipcontrol (`health.firstReportWait: 0s`)
 * announces before viphealth's first report, whose never-proven checks then withdraw their VIPs; the
 * verdicts then still move the router after the test has moved on (and counted its UPDATEs).
 */
export async function waitVerdicts(apiSocket: string, want: Record<string, 'up' | 'down'>, message: string): Promise<void> {
  await waitFor(async () => {
    const { health } = await daemonStatus(apiSocket);
    const seen = Object.fromEntries(health.checks.map((c) => [c.name, c.status]));
    return health.held.length === 0 && (health.pending ?? []).length === 0 && Object.entries(want).every(([name, status]) => seen[name] === status);
  }, { message });
}
