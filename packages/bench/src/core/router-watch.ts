/**
 * Tells the benchmark the moment the fabric router's RIB has a route, without hammering the router.
 *
 * How: the lab's router runs with `debug { routes }` on its sessions (`Lab.create({ routerRouteTrace })`;
 * set in the config because BIRD 3 takes a run-time `debug` for exports only), so the router's BIRD writes one `<TRACE> n1_4.ipv4 > added [best] 198.18.0.1/32 …` line to its log
 * file (BIRD flushes every log line) right when the import reaches the RIB. We watch that file with
 * inotify (fs.watch) and take the time after reading the line: an upper bound of the true moment,
 * ~0.05 ms late, at zero CPU cost while waiting. Polling the router's control socket instead costs
 * ~0.2 ms per round trip and competes for the same 2 cores as the daemon under test; it is kept as a
 * cross-check (`pollMed`). Each log-detected change is confirmed afterwards by `show route for P all`
 * (see `confirmMed`), so a trace line can never stand in for the wrong MED.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { type LabHost, routerProtocolNames } from '@vipcontrol/testlab';

/** "<date> <time> <TRACE> n1_4.ipv4 > added [best] 198.18.0.1/32 0L 4G unicast" → the prefix. */
const IMPORT_TRACE = /<TRACE> ([^.\s]+)\.\S+ > (?:added|updated|removed)(?: \[[^\]]*\])? (\S+)/;

interface Waiter {
  pending: Set<string>;
  resolve(at: number): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Import trace of the router's sessions with one node, read from the router's BIRD log. */
export class RouterWatch {
  readonly #protocols: string[];
  readonly #file: FileHandle;
  readonly #watcher: FSWatcher;
  #offset: number;
  #partial = '';
  #reading: Promise<void> | undefined;
  #again = false;
  #waiter: Waiter | undefined;

  private constructor(protocols: string[], file: FileHandle, offset: number, watcher: FSWatcher) {
    this.#protocols = protocols;
    this.#file = file;
    this.#offset = offset;
    this.#watcher = watcher;
  }

  /** Starts watching the router's log for the imports of its sessions with `node`. */
  static async start(router: LabHost, node: { name: string }): Promise<RouterWatch> {
    const logPath = await routerLogPath(router);
    const protocols = routerProtocolNames(node.name);
    const file = await open(logPath, 'r');
    const offset = (await file.stat()).size;
    // The watcher must exist before the instance (it is a readonly field), so it calls back through a box.
    const box: { self?: RouterWatch } = {};
    const watcher = watch(logPath, () => box.self?.onChange());
    box.self = new RouterWatch(protocols, file, offset, watcher);
    return box.self;
  }

  /** Reads whatever the log has now, so lines written before a measurement cannot count for it. */
  async drain(): Promise<void> {
    this.#kick();
    while (this.#reading) await this.#reading;
  }

  /**
   * Resolves with `performance.now()` at the moment the last of `prefixes` was seen imported (after
   * this call). One wait at a time. Call `drain()` before starting the change being measured.
   */
  waitImported(prefixes: Iterable<string>, timeoutMs: number): Promise<number> {
    if (this.#waiter) throw new Error('RouterWatch: one wait at a time');
    const pending = new Set(prefixes);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        const sample = [...pending].slice(0, 3).join(', ');
        reject(new Error(`router did not import ${pending.size} route(s) within ${timeoutMs} ms (e.g. ${sample})`));
      }, timeoutMs);
      this.#waiter = { pending, resolve, reject, timer };
      this.#kick();
    });
  }

  /** Abandons the current wait (its promise rejects), e.g. after the change itself failed. */
  cancel(why = 'wait cancelled'): void {
    const w = this.#waiter;
    if (!w) return;
    clearTimeout(w.timer);
    this.#waiter = undefined;
    w.reject(new Error(why));
  }

  /** Switches the trace off again and stops watching. */
  async close(): Promise<void> {
    this.#watcher.close();
    this.cancel('RouterWatch closed');
    while (this.#reading) await this.#reading;
    await this.#file.close();
  }

  /** fs.watch callback. */
  private onChange(): void {
    this.#kick();
  }

  #kick(): void {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#readNew().finally(() => {
      this.#reading = undefined;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      }
    });
  }

  async #readNew(): Promise<void> {
    const size = (await this.#file.stat()).size;
    if (size <= this.#offset) return;
    const buf = Buffer.alloc(size - this.#offset);
    const { bytesRead } = await this.#file.read(buf, 0, buf.length, this.#offset);
    this.#offset += bytesRead;
    const at = performance.now();
    const lines = (this.#partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
    this.#partial = lines.pop() ?? '';
    const w = this.#waiter;
    if (!w) return;
    for (const line of lines) {
      const trace = IMPORT_TRACE.exec(line);
      if (trace && this.#protocols.includes(trace[1]!)) w.pending.delete(trace[2]!);
    }
    if (w.pending.size === 0) {
      clearTimeout(w.timer);
      this.#waiter = undefined;
      w.resolve(at);
    }
  }
}

/** The `log "FILE" …;` of the router's bird.conf. */
async function routerLogPath(router: LabHost): Promise<string> {
  const conf = await readFile(router.bird.configPath, 'utf8');
  const file = /^log "([^"]+)"/m.exec(conf)?.[1];
  if (!file) throw new Error(`router bird.conf ${router.bird.configPath} has no log file: cannot watch its imports`);
  if (!conf.includes('debug { routes };')) throw new Error('the router does not trace its imports: create the lab with routerRouteTrace');
  return file;
}

/** True when the router's path for `prefix` carries `med` (the one node is the only path). */
export async function routerHasMed(router: LabHost, prefix: string, med: number): Promise<boolean> {
  const routes = await router.bird.client.showRoutes({ prefix, all: true });
  return routes.some((r) => r.med === med);
}

/**
 * Polls the router's control socket back to back until `prefix` shows `med`; resolves with the time
 * it did. The cross-check of the log method (and the fallback when a trace line was not the change).
 */
export async function pollMed(router: LabHost, prefix: string, med: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await routerHasMed(router, prefix, med)) return performance.now();
    if (performance.now() > deadline) throw new Error(`router never showed ${prefix} with MED ${med} within ${timeoutMs} ms`);
  }
}

/** Counts the router's routes from `node` that carry `med` (`show route protocol n1_4 where bgp_med = M count`). */
export async function routerCountMed(router: LabHost, node: { name: string }, med: number): Promise<number> {
  let total = 0;
  for (const p of routerProtocolNames(node.name)) {
    const reply = await router.bird.client.command(`show route protocol ${p} where bgp_med = ${med} count`);
    // "0014 1000 of 1000 routes for 1000 networks in table master4"
    const m = /(\d+) of \d+ routes/.exec(reply.text);
    if (!m) throw new Error(`unexpected count reply from the router: ${reply.text}`);
    total += Number(m[1]);
  }
  return total;
}
