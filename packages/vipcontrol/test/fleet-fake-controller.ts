/**
 * A Controller for the fleet-agent and maintenance tests: the real Controller interface over core's
 * real computeEffective, without BIRD. Records every call; `fail` makes the next mutation throw.
 */
import { EventEmitter } from 'node:events';
import {
  canonicalPrefix, computeEffective, emptyRuntimeState, parseVipcontrolConfig,
  type Actor, type CheckVerdict, type HealthReportReply, type RuntimeState, type VipcontrolConfig,
} from '@vipcontrol/core';
import type { Controller } from '../src/controller.js';
import type { ApplyOutcome, ChangeRecord, DaemonStatus, OperationResult, StatusSummary, VipStatus } from '../src/daemon-types.js';
import { OperationError } from '../src/errors.js';

export const P4 = '198.51.100.10/32';
export const P6 = '2001:db8::10/128';

/** A parsed config with two VIPs; `extra` is merged in as YAML text. */
export function testConfig(node: string, extra = '', minAnnouncers = 0): VipcontrolConfig {
  return parseVipcontrolConfig(
    `node: ${node}\nvips:\n  - { prefix: ${P4}, med: 100, minAnnouncers: ${minAnnouncers} }\n  - { prefix: ${P6}, med: 100 }\n${extra}`,
    'test.yaml',
  );
}

export class FakeController extends EventEmitter implements Controller {
  readonly calls: { op: string; args: unknown[]; actor?: Actor }[] = [];
  runtime: RuntimeState = emptyRuntimeState();
  checks: CheckVerdict[] = [];
  guarded: ReadonlySet<string> = new Set();
  /** Calls of status() (every field, every VIP), and the VIPs each summary() asked for. */
  statusCalls = 0;
  readonly summaries: (readonly string[] | 'all')[] = [];
  #applyId = 0;

  constructor(public config: VipcontrolConfig) {
    super();
  }

  /** Test hook: a config reload as VipController does it (swap, then 'reloaded'). */
  reloadConfig(next: VipcontrolConfig): void {
    const previous = this.config;
    this.config = next;
    this.emit('reloaded', next, previous);
  }

  status(): DaemonStatus {
    this.statusCalls++;
    const vips = this.#vipStatus('all');
    return {
      node: this.config.node, version: 'test', pid: process.pid, startedAt: 0,
      config: { file: 'test.yaml', loadedAt: 0 }, state: { file: 'state.json' },
      bird: { connected: true, socket: '/x', includeFile: '/y', applies: this.#applyId, configureTimeoutSec: 30 },
      loopback: { interface: 'lo', manage: false },
      ...(this.runtime.drain ? { drain: this.runtime.drain } : {}),
      guarded: [...this.guarded], health: { leaseExpired: false, leaseMs: 10_000, held: [], reportsRefused: 0, checks: this.checks },
      vips,
    };
  }

  summary(prefixes: ReadonlySet<string> | 'all'): StatusSummary {
    this.summaries.push(prefixes === 'all' ? 'all' : [...prefixes].sort());
    return {
      version: 'test', bird: { connected: true }, guarded: [...this.guarded],
      ...(this.runtime.drain ? { drain: this.runtime.drain } : {}),
      vips: this.#vipStatus(prefixes),
    };
  }

  /** Test hook: one VIP's status, not counted as the agent's. */
  vip(prefix: string): VipStatus {
    return this.#vipStatus(new Set([prefix]))[0]!;
  }

  #vipStatus(prefixes: ReadonlySet<string> | 'all'): VipStatus[] {
    const desired = computeEffective({ config: this.config, runtime: this.runtime, health: { checks: this.checks, leaseExpired: false }, now: Date.now(), guarded: this.guarded });
    return (prefixes === 'all' ? desired : desired.filter((v) => prefixes.has(v.prefix))).map((v) => ({ ...v, inSync: true }));
  }

  setMed(prefix: string, req: { med: number; ttlMs?: number; reason?: string }, actor: Actor): Promise<OperationResult> {
    return this.#mutate('set-med', [prefix, req], actor, prefix, (s) => ({ ...s, overrides: { ...s.overrides, [prefix]: { med: req.med, setAt: Date.now(), ...(req.ttlMs ? { expiresAt: Date.now() + req.ttlMs } : {}) } } }));
  }

  resetMed(prefix: string, actor: Actor): Promise<OperationResult> {
    return this.#mutate('reset-med', [prefix], actor, prefix, (s) => {
      const { [prefix]: _gone, ...overrides } = s.overrides;
      return { ...s, overrides };
    });
  }

  withdraw(prefix: string, req: { reason?: string; force?: boolean }, actor: Actor): Promise<OperationResult> {
    return this.#mutate('withdraw', [prefix, req], actor, prefix, (s) => ({ ...s, withdrawn: { ...s.withdrawn, [prefix]: { at: Date.now(), ...req } } }));
  }

  announce(prefix: string, actor: Actor): Promise<OperationResult> {
    return this.#mutate('announce', [prefix], actor, prefix, (s) => {
      const { [prefix]: _gone, ...withdrawn } = s.withdrawn;
      return { ...s, withdrawn };
    });
  }

  drain(req: { withdraw: boolean; reason?: string; force?: boolean; source?: 'operator' | 'maintenance'; untilMs?: number }, actor: Actor): Promise<OperationResult> {
    return this.#mutate('drain', [req], actor, undefined, (s) => ({ ...s, drain: { withdraw: req.withdraw, at: Date.now(), source: req.source ?? 'operator', ...(req.untilMs ? { until: req.untilMs } : {}) } }));
  }

  undrain(actor: Actor): Promise<OperationResult> {
    return this.#mutate('undrain', [], actor, undefined, (s) => {
      const { drain: _gone, ...rest } = s;
      return rest;
    });
  }

  reload(actor: Actor): Promise<OperationResult> {
    return this.#mutate('reload', [], actor, undefined, (s) => s);
  }

  async reportHealth(): Promise<HealthReportReply> {
    throw new Error('not used by these tests');
  }

  async setGuarded(prefixes: ReadonlySet<string>): Promise<void> {
    this.calls.push({ op: 'setGuarded', args: [[...prefixes].sort()] });
    this.guarded = new Set(prefixes);
    this.#applied([]);
  }

  /** Test hook: a health check changes (as viphealth would report), then an apply. */
  setHealth(checks: CheckVerdict[]): void {
    this.checks = checks;
    this.#applied([]);
  }

  ops(): string[] {
    return this.calls.map((c) => c.op);
  }

  async #mutate(op: ChangeRecord['op'], args: unknown[], actor: Actor, prefix: string | undefined, change: (s: RuntimeState) => RuntimeState): Promise<OperationResult> {
    this.calls.push({ op, args, actor });
    if (prefix !== undefined) {
      if (canonicalPrefix(prefix).prefix !== prefix || !this.config.vips.some((v) => v.prefix === prefix)) throw new OperationError(404, `unknown VIP ${prefix}`);
    }
    this.runtime = change(this.runtime);
    const record: ChangeRecord = { at: Date.now(), op, actor, ...(prefix ? { prefix } : {}) };
    this.emit('changed', record);
    const vips = this.#applied([record]);
    return { ok: true, vips: prefix ? vips.filter((v) => v.prefix === prefix) : vips, applyId: this.#applyId };
  }

  #applied(causes: ChangeRecord[]): DaemonStatus['vips'] {
    const vips = this.#vipStatus('all');
    const outcome: ApplyOutcome = { id: ++this.#applyId, at: Date.now(), durationMs: 1, ok: true, configured: true, changes: [], causes, vips };
    this.emit('applied', outcome);
    return vips;
  }
}
