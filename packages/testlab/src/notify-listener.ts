/**
 * A stand-in for systemd's notification socket (NOTIFY_SOCKET): a Unix datagram socket (python3; Node
 * has none) that records every sd_notify message. Like systemd, it closes the fd that systemd-notify's
 * barrier passes, so systemd-notify returns only once the message was received. For tests of READY=1
 * and STATUS= without booting a systemd container.
 */
import { join } from 'node:path';
import { spawnManaged, type ManagedProcess } from './managed-process.js';
import { waitFor } from './wait-for.js';

const MANAGER = `
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data, ancdata, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for i in range(0, len(payload) - len(payload) % 4, 4):
                os.close(int.from_bytes(payload[i:i + 4], sys.byteorder))
    print(json.dumps(data.decode()), flush=True)
`;

export interface NotifyListener {
  /** The value for NOTIFY_SOCKET. */
  readonly socketPath: string;
  /** The messages received since start (or the last `clear()`), fields joined by newlines; systemd-notify's BARRIER=1 left out. */
  messages(): string[];
  /** Forgets the messages received so far. */
  clear(): void;
  /** Stops the listener (the socket file stays in `dir`, the caller's to remove). */
  close(): Promise<void>;
}

/** Starts a listener on `<dir>/notify.sock`; resolves once it is bound. */
export async function startNotifyListener(dir: string): Promise<NotifyListener> {
  const socketPath = join(dir, 'notify.sock');
  const proc: ManagedProcess = spawnManaged('python3', ['-c', MANAGER, socketPath]);
  let listening = false;
  let received: string[] = [];
  proc.onStdoutLine((line) => {
    if (!listening) listening = line === 'listening';
    else received.push(JSON.parse(line) as string);
  });
  try {
    await waitFor(() => listening, { timeoutMs: 10_000, message: 'notify listener bound' });
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return {
    socketPath,
    messages: () => received.filter((m) => m !== 'BARRIER=1'),
    clear: () => {
      received = [];
    },
    close: () => proc.stop(),
  };
}
