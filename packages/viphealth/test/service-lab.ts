/** The lab the end-to-end suites share: router + one node (no BFD), the stand-in service running on the node. */
import { join } from 'node:path';
import { Lab, type LabHost } from '@vipcontrol/testlab';
import { startService, type Service } from '@vipcontrol/testlab';

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
