/**
 * viphealth's footprint with 50 checks at 1 s (15 tcp, 15 process, 10 http, 10 bird-protocol) against
 * one lab service and the node's BIRD: CPU from /proc/<pid>/stat over a window, RSS at its end.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { daemonStatus, procKiB, waitFor, type DaemonProcess, type Lab, type LabHost } from '@vipcontrol/testlab';

export interface Footprint {
  nodeOptions: string;
  checks: string;
  cpuPercent: number;
  rssMb: number;
  peakRssMb: number;
  seconds: number;
}

export async function measureFootprint(opts: {
  lab: Lab;
  node: LabHost;
  vipcontrol: DaemonProcess;
  service: { port: number; pidfile: string; prefix: string };
  seconds: number;
  nodeOptions: string;
}): Promise<Footprint> {
  const { lab, node, service } = opts;
  const url = `http://127.0.0.1:${service.port}/health`;
  const common = { interval: '1s', fastInterval: '200ms', timeout: '500ms', rise: 2, fall: 2, vips: [service.prefix], penalty: 1 };
  const checks = [
    ...Array.from({ length: 15 }, (_, i) => ({ ...common, name: `tcp${i}`, type: 'tcp', target: `127.0.0.1:${service.port}` })),
    ...Array.from({ length: 15 }, (_, i) => ({ ...common, name: `proc${i}`, type: 'process', pidfile: service.pidfile })),
    ...Array.from({ length: 10 }, (_, i) => ({ ...common, name: `http${i}`, type: 'http', url })),
    ...Array.from({ length: 10 }, (_, i) => ({ ...common, name: `bird${i}`, type: 'bird-protocol', socket: node.bird.socketPath, protocols: ['fabric4', 'fabric6'] })),
  ];
  // The daemon inherits our environment through `ip netns exec`.
  process.env.NODE_OPTIONS = opts.nodeOptions;
  const vh = await lab.startViphealth(node, { heartbeat: '1s', checks });
  delete process.env.NODE_OPTIONS;
  try {
    await waitFor(async () => (await checkStatuses(opts.vipcontrol)).filter((s) => s === 'up').length === checks.length, {
      timeoutMs: 20_000,
      message: '50 checks up',
    });
    await sleep(2000); // past start-up work (JIT, first connections)
    const ticks0 = await cpuTicks(vh.pid);
    const t0 = performance.now();
    await sleep(opts.seconds * 1000);
    const ticks1 = await cpuTicks(vh.pid);
    const elapsedS = (performance.now() - t0) / 1000;
    const memory = await procKiB(vh.pid, 'status', ['VmRSS', 'VmHWM']);
    // USER_HZ is 100 on Linux x86-64: one tick is 10 ms of CPU.
    return {
      nodeOptions: opts.nodeOptions,
      checks: '15 tcp, 15 process, 10 http, 10 bird-protocol; interval 1 s',
      cpuPercent: (((ticks1 - ticks0) * 10) / (elapsedS * 1000)) * 100,
      rssMb: memory.VmRSS / 1024,
      peakRssMb: memory.VmHWM / 1024,
      seconds: Math.round(elapsedS),
    };
  } finally {
    await vh.stop();
  }
}

async function checkStatuses(vipcontrol: DaemonProcess): Promise<string[]> {
  return (await daemonStatus(vipcontrol.apiSocket)).health.checks.map((c) => c.status);
}

/** utime + stime of a process, in clock ticks. */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm)": index 0 is field 3 (state); utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}
