/**
 * The soak's invariants, as a pure evaluation of one observation (every node's `vipctl status --json`
 * and the router's paths from it, read in a known time window) against the expected models:
 *
 * 1. status knows: vipcontrol answers, BIRD is connected, every VIP is `inSync` and the router's
 *    sessions with the node are Established — otherwise the poll is "not converged" (allowed while
 *    faults run; a violation only if it lasts past the convergence timeout);
 * 2. status is the truth at the router: a VIP that status calls in sync is present at the router from
 *    that node exactly when status says announced, with the MED status gives;
 * 3. status equals the model of the accepted operations (override, operator withdraw, drain, and the
 *    effective announcement and MED they make);
 * 4. health stays out of it: the stand-in services never fail, so no health or lease term may appear.
 * Session resets are checked by the runner (they need the fault history).
 */
import { expectedVip, type NodeModel } from './model.js';
import { SOAK_CONFIGURED_MED, SOAK_VIPS, type SoakNode } from './schedule.js';

/** The parts of `GET /v1/status` (= `vipctl status --json`) the soak reads. */
export interface StatusView {
  bird: { connected: boolean };
  drain?: { withdraw: boolean };
  vips: {
    prefix: string;
    announced: boolean;
    med: number;
    terms: { kind: string; med?: number; expiresAt?: number }[];
    withdrawReasons: { kind: string }[];
    inSync: boolean;
  }[];
}

/** The router's path for one VIP from one node (undefined = no path). */
export interface RouterPath {
  med?: number;
}

export interface NodeObservation {
  node: SoakNode;
  /** Undefined when vipcontrol did not answer; `statusError` says why. */
  status?: StatusView;
  statusError?: string;
  /** Keyed by VIP prefix. */
  router: ReadonlyMap<string, RouterPath | undefined>;
  /** The router's session state with the node ("Established" when both sessions are). */
  sessionState: string;
}

export type ViolationClass =
  | 'no-convergence'
  | 'status-vs-router'
  | 'override-lost'
  | 'unexpected-override'
  | 'withdraw-mismatch'
  | 'drain-mismatch'
  | 'effective-mismatch'
  | 'health-term'
  | 'session-reset'
  | 'log-storm'
  | 'bad-input-accepted'
  | 'restart-failed';

export interface Problem {
  cls: ViolationClass;
  node: SoakNode;
  prefix?: string;
  detail: string;
}

export interface Evaluation {
  /** False when a TTL expiry window overlapped the read: nothing can be concluded, poll again. */
  conclusive: boolean;
  problems: Problem[];
  /** Per node, the candidate models consistent with its status (empty when none or unknown). */
  consistent: Map<SoakNode, NodeModel[]>;
  /** Individual invariant assertions evaluated. */
  assertions: number;
}

export interface EvaluateOptions {
  drainPenalty: number;
  /** When the observation was taken: the first status request was sent / the last read returned. */
  read: { from: number; to: number };
}

/** Evaluates one observation of every node against its candidate models. */
export function evaluate(
  observations: readonly NodeObservation[],
  candidates: ReadonlyMap<SoakNode, readonly NodeModel[]>,
  opts: EvaluateOptions,
): Evaluation {
  const problems: Problem[] = [];
  const consistent = new Map<SoakNode, NodeModel[]>();
  let conclusive = true;
  let assertions = 0;
  for (const obs of observations) {
    const { node, status } = obs;
    assertions += 1;
    if (obs.sessionState !== 'Established') {
      problems.push({ cls: 'no-convergence', node, detail: `router's sessions with ${node}: ${obs.sessionState}` });
    }
    if (!status) {
      problems.push({ cls: 'no-convergence', node, detail: `vipcontrol does not answer: ${obs.statusError ?? 'no status'}` });
      continue;
    }
    assertions += 1;
    if (!status.bird.connected) problems.push({ cls: 'no-convergence', node, detail: 'status: BIRD disconnected' });
    for (const prefix of SOAK_VIPS) {
      const vip = status.vips.find((v) => v.prefix === prefix);
      assertions += 3;
      if (!vip) {
        problems.push({ cls: 'effective-mismatch', node, prefix, detail: 'VIP missing from status' });
        continue;
      }
      if (!vip.inSync) problems.push({ cls: 'no-convergence', node, prefix, detail: 'status: not in sync' });
      const health = [...vip.terms.filter((t) => t.kind === 'health' || t.kind === 'lease'), ...vip.withdrawReasons.filter((r) => r.kind === 'health' || r.kind === 'lease')];
      if (health.length > 0) problems.push({ cls: 'health-term', node, prefix, detail: `health/lease terms with every service up: ${JSON.stringify(health)}` });
      const path = obs.router.get(prefix);
      const routerSays = path === undefined ? 'absent' : `MED ${path.med ?? 'none'}`;
      const statusSays = vip.announced ? `MED ${vip.med}` : 'absent';
      if (vip.inSync && routerSays !== statusSays) {
        problems.push({ cls: 'status-vs-router', node, prefix, detail: `status says ${statusSays}, in sync; router has ${routerSays}` });
      }
    }
    const models = candidates.get(node) ?? [];
    const fits: NodeModel[] = [];
    let mismatch: Problem | undefined;
    for (const model of models) {
      const verdict = compareModel(node, model, status, opts);
      if (verdict === 'flux') conclusive = false;
      else if (verdict === undefined) fits.push(model);
      else mismatch ??= verdict;
    }
    consistent.set(node, fits);
    if (fits.length === 0 && conclusive && mismatch) {
      problems.push(models.length > 1 ? { ...mismatch, detail: `${mismatch.detail} (none of ${models.length} candidate outcomes fits)` } : mismatch);
    }
  }
  return { conclusive, problems, consistent, assertions };
}

/** Undefined when `status` shows exactly `model`; the first difference otherwise; 'flux' when unknowable now. */
function compareModel(node: SoakNode, model: NodeModel, status: StatusView, opts: EvaluateOptions): Problem | 'flux' | undefined {
  const drainSays = status.drain ? (status.drain.withdraw ? 'drain --withdraw' : 'drain') : 'no drain';
  const drainWants = model.drain ? (model.drain.withdraw ? 'drain --withdraw' : 'drain') : 'no drain';
  if (drainSays !== drainWants) return { cls: 'drain-mismatch', node, detail: `status: ${drainSays}; accepted operations: ${drainWants}` };
  for (const prefix of SOAK_VIPS) {
    const vip = status.vips.find((v) => v.prefix === prefix);
    if (!vip) continue; // reported above
    const want = expectedVip(model, prefix, SOAK_CONFIGURED_MED[node], opts.drainPenalty, opts.read);
    if (want === 'flux') return 'flux';
    const override = vip.terms.find((t) => t.kind === 'override')?.med;
    if (want.override !== undefined && override !== want.override) {
      return {
        cls: 'override-lost', node, prefix,
        detail: `accepted override MED ${want.override} ${override === undefined ? 'is gone' : `shows as ${override}`}`,
      };
    }
    if (want.override === undefined && override !== undefined) {
      return { cls: 'unexpected-override', node, prefix, detail: `status has override MED ${override}; accepted operations leave none` };
    }
    const withdrawn = vip.withdrawReasons.some((r) => r.kind === 'operator');
    if (withdrawn !== want.withdrawn) {
      return { cls: 'withdraw-mismatch', node, prefix, detail: `status: ${withdrawn ? '' : 'not '}withdrawn by operator; accepted operations: ${want.withdrawn ? '' : 'not '}withdrawn` };
    }
    if (vip.announced !== want.announced || (want.announced && vip.med !== want.med)) {
      return {
        cls: 'effective-mismatch', node, prefix,
        detail: `status: ${vip.announced ? `MED ${vip.med}` : 'withdrawn'}; expected ${want.announced ? `MED ${want.med}` : 'withdrawn'}`,
      };
    }
  }
  return undefined;
}

/** A model rebuilt from what status shows (after a violation, so the run goes on from there). */
export function modelFromStatus(status: StatusView): NodeModel {
  const overrides: Record<string, { med: number; expires?: { from: number; to: number } }> = {};
  const withdrawn: string[] = [];
  for (const vip of status.vips) {
    const o = vip.terms.find((t) => t.kind === 'override');
    if (o?.med !== undefined) overrides[vip.prefix] = o.expiresAt === undefined ? { med: o.med } : { med: o.med, expires: { from: o.expiresAt, to: o.expiresAt } };
    if (vip.withdrawReasons.some((r) => r.kind === 'operator')) withdrawn.push(vip.prefix);
  }
  return { overrides, withdrawn: withdrawn.sort(), ...(status.drain ? { drain: { withdraw: status.drain.withdraw } } : {}) };
}
