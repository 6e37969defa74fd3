// The coalescing writer, with a fake run that records what it was asked (MetalLB's fakeSession style).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescingQueue, QueueStoppedError } from '../src/apply-queue.js';

/** A run we complete by hand, recording the causes of each call. */
function recorder() {
  const calls: number[][] = [];
  const gates: { resolve(v: string): void; reject(e: Error): void }[] = [];
  const run = (causes: number[]) => {
    calls.push(causes);
    return new Promise<string>((resolve, reject) => gates.push({ resolve, reject }));
  };
  return { calls, gates, run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CoalescingQueue', () => {
  it('squashes a same-tick burst into one run and answers every caller', async () => {
    const runs: number[][] = [];
    const q = new CoalescingQueue<number, string>({ run: async (c) => (runs.push(c), `run${runs.length}`) });
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => q.request(i)));
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.length, 1000);
    assert.ok(answers.every((a) => a === 'run1'));
  });

  it('requests made while a run is in flight share the NEXT run, never the current one', async () => {
    const r = recorder();
    const q = new CoalescingQueue<number, string>({ run: r.run });
    const first = q.request(1);
    await tick();
    assert.deepEqual(r.calls, [[1]]);
    const late = [q.request(2), q.request(3), q.request(4)];
    await tick();
    assert.equal(r.calls.length, 1, 'no second run while the first is in flight');
    r.gates[0]!.resolve('a');
    assert.equal(await first, 'a');
    await tick();
    assert.deepEqual(r.calls, [[1], [2, 3, 4]]);
    r.gates[1]!.resolve('b');
    assert.deepEqual(await Promise.all(late), ['b', 'b', 'b']);
    assert.equal(q.runs, 2);
  });

  it('a burst spread over many ticks becomes a handful of runs', async () => {
    let runs = 0;
    const q = new CoalescingQueue<number, number>({
      run: async () => {
        runs += 1;
        await new Promise((res) => setTimeout(res, 5));
        return runs;
      },
    });
    const all: Promise<number>[] = [];
    for (let i = 0; i < 1000; i += 1) {
      all.push(q.request(i));
      if (i % 50 === 0) await tick();
    }
    await Promise.all(all);
    assert.ok(runs <= 25, `expected a handful of runs, got ${runs}`);
  });

  it('rejects the whole batch with the run error, then retries by itself with backoff', async () => {
    const r = recorder();
    const delays: number[] = [];
    const q = new CoalescingQueue<number, string>({
      run: r.run,
      retryDelayMs: (failures) => (delays.push(failures), 1),
      retryCause: -1,
    });
    const a = q.request(1);
    const b = q.request(2);
    await tick();
    r.gates[0]!.reject(new Error('bird down'));
    await assert.rejects(a, /bird down/);
    await assert.rejects(b, /bird down/);
    assert.equal(q.failures, 1);
    // The retry timer fires after 1 ms and starts a run with the retry cause alone.
    await waitUntil(() => r.calls.length === 2);
    assert.deepEqual(r.calls[1], [-1]);
    r.gates[1]!.resolve('ok');
    await waitUntil(() => q.failures === 0);
    assert.deepEqual(delays, [1]);
    assert.equal(q.nextRetryAt, undefined);
  });

  it('hold: a lone request starts at once; while more are on their way the run waits and takes them all', async () => {
    const r = recorder();
    let incoming = 0;
    const q = new CoalescingQueue<number, string>({ run: r.run, hold: { busy: () => incoming > 0, maxMs: 10_000 } });
    const lone = q.request(0);
    await tick();
    assert.deepEqual(r.calls, [[0]], 'nothing busy: no hold');
    r.gates[0]!.resolve('a');
    assert.equal(await lone, 'a');

    incoming = 3;
    const burst = [q.request(1)];
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(r.calls.length, 1, 'held while requests are still coming in');
    for (const i of [2, 3]) {
      burst.push(q.request(i));
      incoming -= 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(r.calls.length, 1, 'still one on its way');
    burst.push(q.request(4));
    incoming -= 1;
    await waitUntil(() => r.calls.length === 2);
    assert.deepEqual(r.calls[1], [1, 2, 3, 4], 'one run for the whole burst');
    r.gates[1]!.resolve('b');
    assert.deepEqual(await Promise.all(burst), ['b', 'b', 'b', 'b']);
  });

  it('hold: never longer than maxMs after the oldest waiting request', async () => {
    const r = recorder();
    const q = new CoalescingQueue<number, string>({ run: r.run, hold: { busy: () => true, maxMs: 30 } });
    const t0 = performance.now();
    const held = q.request(1);
    await waitUntil(() => r.calls.length === 1);
    const waited = performance.now() - t0;
    assert.ok(waited >= 29, `held ${waited.toFixed(1)} ms, at least maxMs`);
    assert.ok(waited < 1000, `held ${waited.toFixed(1)} ms, released after maxMs`);
    r.gates[0]!.resolve('x');
    assert.equal(await held, 'x');
  });

  it('hold quietMs: a stream of requests busy() cannot see is one run; a lone request is not held', async () => {
    const r = recorder();
    const q = new CoalescingQueue<number, string>({ run: r.run, hold: { busy: () => false, maxMs: 10_000, quietMs: 20 } });
    const t0 = performance.now();
    const lone = q.request(0);
    await waitUntil(() => r.calls.length === 1);
    assert.ok(performance.now() - t0 < 15, 'a lone request starts at once');
    r.gates[0]!.resolve('a');
    assert.equal(await lone, 'a');

    const t1 = performance.now();
    const together = [q.request(1), q.request(2), q.request(3)];
    await waitUntil(() => r.calls.length === 2);
    assert.ok(performance.now() - t1 >= 19, 'several at once: more may follow, so they wait for quietMs');
    assert.deepEqual(r.calls[1], [1, 2, 3]);

    // A trickle, one every 5 ms (under quietMs), while that run is in flight: once it is done, the
    // trickle waits until it pauses, then goes in one run instead of one run per few requests.
    const trickle: Promise<string>[] = [];
    for (let i = 10; i < 20; i += 1) {
      trickle.push(q.request(i));
      if (i === 13) r.gates[1]!.resolve('b');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(r.calls.length, 2, 'held while the stream goes on');
    await waitUntil(() => r.calls.length === 3);
    assert.deepEqual(r.calls[2], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 'the whole stream in one run');
    r.gates[2]!.resolve('c');
    assert.deepEqual(await Promise.all([...together, ...trickle]), ['b', 'b', 'b', ...Array(10).fill('c')]);
  });

  it('stop() rejects queued requests, waits for the run in flight, refuses new ones', async () => {
    const r = recorder();
    const q = new CoalescingQueue<number, string>({ run: r.run });
    const inFlight = q.request(1);
    await tick();
    const queued = q.request(2);
    const stopped = q.stop();
    await assert.rejects(queued, QueueStoppedError);
    let done = false;
    void stopped.then(() => (done = true));
    await tick();
    assert.equal(done, false, 'stop waits for the run in flight');
    r.gates[0]!.resolve('x');
    await stopped;
    assert.equal(await inFlight, 'x');
    await assert.rejects(q.request(3), QueueStoppedError);
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s');
    await new Promise((r) => setTimeout(r, 1));
  }
}
