/**
 * Human rendering of the daemon's status and of mutation results. Pure: `now` is passed in so the
 * relative times ("in 29m", "3s ago") are testable.
 */
import { formatDuration } from '@vipcontrol/core';
import type { DaemonStatus, LastApplyStatus, MedTerm, VipStatus, WithdrawReason } from '@vipcontrol/core';

/** "100 configured + 1000 health(ingest) + 500 drain = 1600": every term of the effective MED. */
export function formatMedBreakdown(vip: Pick<VipStatus, 'med' | 'terms'>): string {
  const parts = vip.terms.map(formatTerm);
  return parts.length === 0 ? String(vip.med) : `${parts.join(' + ')} = ${vip.med}`;
}

function formatTerm(term: MedTerm): string {
  switch (term.kind) {
    case 'configured':
      return `${term.med} configured`;
    case 'override':
      return `${term.med} override`;
    case 'health':
      return `${term.penalty} health(${term.check})`;
    case 'drain':
      return `${term.penalty} drain`;
    case 'lease':
      return `${term.penalty} lease`;
    case 'min-announcers':
      return `${term.penalty} min-announcers`;
  }
}

/** Why a VIP is withdrawn, e.g. "operator (maintenance)", "health(ingest)". */
export function formatWithdrawReason(reason: WithdrawReason): string {
  switch (reason.kind) {
    case 'operator':
      return reason.reason ? `operator (${reason.reason})` : 'operator';
    case 'health':
      return `health(${reason.check})`;
    case 'drain':
      return 'drain';
    case 'lease':
      return 'lease';
    case 'awaiting-health':
      return 'health not known yet (awaiting viphealth\'s first report)';
  }
}

/** "2025-11-25T08:10:00Z (in 29m)" / "(3s ago)". */
export function formatTime(at: number, now: number): string {
  return `${new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')} (${formatRelative(at, now)})`;
}

/** "in 29m", "3s ago", "now". */
export function formatRelative(at: number, now: number): string {
  // Whole seconds: "1m1s", not "1m1s503ms".
  const delta = Math.round((at - now) / 1000) * 1000;
  if (delta === 0) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** Fixed-width columns, two spaces apart; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function exportedMed(vip: VipStatus): string {
  if (!vip.exported) return '?';
  if (!vip.exported.present) return 'absent';
  return vip.exported.med === undefined ? 'none' : String(vip.exported.med);
}

function formatApply(apply: LastApplyStatus, now: number): string {
  const what = apply.changed && apply.changed.length > 0 ? `: ${apply.changed.join(', ')}` : '';
  const ok = apply.configured === false ? 'ok, BIRD already matched' : 'ok';
  const outcome = apply.ok ? ok : `FAILED: ${apply.error ?? 'unknown error'}`;
  return `#${apply.id} at ${formatTime(apply.at, now)} in ${Number(apply.durationMs.toFixed(1))} ms: ${outcome}${what}`;
}

/** The VIP table plus one indented detail line per override, withdrawal and community set. */
export function formatVips(vips: readonly VipStatus[], now: number): string[] {
  if (vips.length === 0) return ['no VIPs configured'];
  const rows = vips.map((v) => [
    v.prefix,
    v.announced ? 'yes' : 'no',
    String(v.med),
    exportedMed(v),
    v.inSync ? 'yes' : 'NO',
    formatMedBreakdown(v),
  ]);
  const table = formatTable(['PREFIX', 'ANNOUNCED', 'MED', 'BIRD MED', 'IN SYNC', 'MED BREAKDOWN'], rows);
  const out = [table[0] ?? ''];
  vips.forEach((v, i) => {
    out.push(table[i + 1] ?? '');
    out.push(...vipDetails(v, now).map((d) => `    ${d}`));
  });
  return out;
}

function vipDetails(v: VipStatus, now: number): string[] {
  const details: string[] = [];
  if (v.override) {
    const o = v.override;
    const until = o.expiresAt === undefined ? 'until reset' : `expires ${formatTime(o.expiresAt, now)}`;
    const reason = o.reason ? ` reason "${o.reason}"` : '';
    const by = o.setBy ? ` by ${o.setBy}` : '';
    details.push(`override: MED ${o.med}, ${until}${reason}${by}`);
  }
  if (v.withdrawReasons.length > 0) details.push(`withdrawn: ${v.withdrawReasons.map(formatWithdrawReason).join(', ')}`);
  const comms = [...v.communities, ...v.largeCommunities];
  if (comms.length > 0) details.push(`communities: ${comms.join(' ')}`);
  const e = v.exported;
  if (e?.reason) details.push(`${e.present ? 'exported' : 'NOT exported'}${e.missing?.length ? ` to ${e.missing.join(', ')}` : ''}: ${e.reason}`);
  if (e?.medUnverified) details.push(`MED unverified: ${e.medUnverified}`);
  return details;
}

/** The whole `vipctl status` screen. */
export function formatStatus(status: DaemonStatus, now: number): string {
  const lines: string[] = [];
  const started = status.startedAt === undefined ? '' : `, up since ${formatTime(status.startedAt, now)}`;
  lines.push(`node:     ${status.node} (vipcontrol ${status.version ?? '?'}${started})`);
  const bird = status.bird;
  // While disconnected the version is the BIRD last talked to, so it is said as such.
  const state = bird.connected ? `connected${bird.version === undefined ? '' : ` to BIRD ${bird.version}`}` : 'NOT CONNECTED';
  const where = [bird.socket, !bird.connected && bird.version !== undefined ? `last BIRD ${bird.version}` : undefined].filter((x) => x);
  lines.push(`bird:     ${state}${where.length > 0 ? ` (${where.join('; ')})` : ''}`);
  if (bird.error) {
    const retry = bird.retryAt === undefined ? '' : `, retry ${formatTime(bird.retryAt, now)}`;
    lines.push(`error:    ${bird.error}${retry}`);
  }
  lines.push(`apply:    ${bird.lastApply ? formatApply(bird.lastApply, now) : 'none yet'}`);
  if (bird.fabric) lines.push(`fabric:   ${formatFabric(bird.fabric)}`);
  if (bird.pendingConfigure) lines.push(`pending:  ${formatPending(bird.pendingConfigure, now)}`);
  if (status.config) {
    lines.push(`config:   ${status.config.file}, loaded ${formatTime(status.config.loadedAt, now)}`);
    if (status.config.error) {
      const at = status.config.errorAt === undefined ? '' : ` at ${formatTime(status.config.errorAt, now)}`;
      lines.push(`          last reload REFUSED${at}: ${status.config.error.split('\n').join('; ')}`);
    }
  }
  if (status.loopback?.error) lines.push(`loopback: ${status.loopback.interface}: ${status.loopback.error}`);
  lines.push(`drain:    ${formatDrain(status.drain, now)}`);
  lines.push(...formatMaintenance(status.maintenance, now));
  if (status.guarded && status.guarded.length > 0) lines.push(`guarded:  ${status.guarded.join(' ')} (withdraw refused by minAnnouncers)`);
  lines.push(...formatHealth(status.health, now));
  lines.push('');
  lines.push(...formatVips(status.vips, now));
  return `${lines.join('\n')}\n`;
}

function formatFabric(fabric: NonNullable<DaemonStatus['bird']['fabric']>): string {
  if (fabric.length === 0) return 'no BGP protocol found: exports to the fabric NOT verified (BIRD\'s table only)';
  const kind = (s?: string): string => (s === 'external' ? 'eBGP' : s === 'internal' ? 'iBGP' : 'BGP');
  return fabric.map((f) => `${f.name} (${f.family === undefined ? '?' : `ipv${f.family}`}, ${kind(f.session)}, ${f.state})`).join(', ');
}

function formatPending(p: NonNullable<DaemonStatus['bird']['pendingConfigure']>, now: number): string {
  if (p.owner === 'vipcontrol') return `vipcontrol's own unconfirmed configure (BIRD undoes it in ${p.undoInSec} s unless confirmed)`;
  const hold = p.holdUntil === undefined ? '' : `; changes held until ${formatTime(p.holdUntil, now)}`;
  return `BIRD has an unconfirmed configure that is NOT vipcontrol's (undo in ${p.undoInSec} s)${hold}`;
}

function formatDrain(drain: DaemonStatus['drain'], now: number): string {
  if (!drain) return 'no';
  const mode = drain.withdraw ? 'yes, all VIPs withdrawn' : 'yes, MED penalty';
  const parts = [`${mode} (${drain.source}) since ${formatTime(drain.at, now)}`];
  if (drain.until !== undefined) parts.push(`until ${formatTime(drain.until, now)}`);
  if (drain.by) parts.push(`by ${drain.by}`);
  if (drain.reason) parts.push(`reason "${drain.reason}"`);
  if (drain.force) parts.push('forced');
  return parts.join(', ');
}

/** The active and the next maintenance window (nothing when none is configured). */
function formatMaintenance(m: DaemonStatus['maintenance'], now: number): string[] {
  if (!m) return [];
  if ('error' in m) return [`maint:    ERROR: ${m.error}`];
  const cron = (index: number) => m.windows.find((w) => w.index === index)?.cron ?? '?';
  const lines: string[] = [];
  if (m.active) {
    const a = m.active;
    const notes = [a.caughtUp ? 'entered at start-up' : '', a.yieldedToOperator ? 'operator drain left as is' : ''].filter((n) => n !== '');
    lines.push(`maint:    ACTIVE ${a.action} (window ${a.index} "${cron(a.index)}") since ${formatTime(a.startedAt, now)}, until ${formatTime(a.until, now)}${notes.length ? ` (${notes.join(', ')})` : ''}`);
  }
  const next = m.next
    ? `next ${m.windows.find((w) => w.index === m.next?.index)?.action ?? '?'} ${formatTime(m.next.at, now)} (window ${m.next.index} "${cron(m.next.index)}")${m.next.skipped ? ' SKIPPED by operator' : ''}`
    : 'no window scheduled';
  lines.push(`${m.active ? '          ' : 'maint:    '}${next}`);
  for (const w of m.windows) if (w.error) lines.push(`          window ${w.index}: ${w.error}`);
  return lines;
}

function formatHealth(health: DaemonStatus['health'], now: number): string[] {
  if (health?.awaitingFirstReport) {
    return [`health:   NOT KNOWN YET (fresh node): nothing is announced until viphealth's first report, or without it ${formatTime(health.awaitingFirstReport.until, now)}`];
  }
  if (!health || (health.checks.length === 0 && health.lastReportAt === undefined)) return ['health:   no checks reported'];
  const lease = health.leaseExpired ? 'LEASE EXPIRED' : 'lease ok';
  const last = health.lastReportAt === undefined ? '' : `, last report ${formatTime(health.lastReportAt, now)}`;
  const lines = [`health:   ${lease}${last}`];
  if (health.lastRefusal) {
    lines.push(`  REPORTS REFUSED: ${health.reportsRefused}, last ${formatTime(health.lastRefusal.at, now)} (${health.lastRefusal.status}: ${health.lastRefusal.error})`);
  }
  const awaiting = new Set(health.awaitingVerdict ?? []);
  const pending = new Set(health.pending ?? []);
  for (const c of health.checks) {
    const effect = 'withdraw' in c.effect ? 'withdraw' : `penalty ${c.effect.penalty}`;
    const result = c.lastResult
      ? `, last ${c.lastResult.ok ? 'ok' : 'FAIL'}${c.lastResult.latencyMs === undefined ? '' : ` ${c.lastResult.latencyMs} ms`}${c.lastResult.detail ? ` (${c.lastResult.detail})` : ''}`
      : '';
    const status = awaiting.has(c.name)
      ? 'new, awaiting its first verdict (gates nothing yet)'
      : pending.has(c.name)
        ? 'NO VERDICT YET (fresh node): its VIPs stay withdrawn until its first'
        : `${c.status} since ${formatTime(c.since, now)}`;
    const vips = c.vips.length <= 8 ? c.vips.join(' ') : `${c.vips.length} VIPs (${c.vips.slice(0, 3).join(' ')} …)`;
    lines.push(`  ${c.name}: ${status}, ${effect} on ${vips}${result}`);
  }
  return lines;
}

/** One line per VIP a mutation affected: "198.51.100.10/32: announced, MED 250 (250 override = 250)". */
export function formatResult(vips: readonly VipStatus[]): string {
  if (vips.length === 0) return 'ok\n';
  return vips
    .map((v) => {
      const state = v.announced ? `announced, MED ${v.med} (${formatMedBreakdown(v)})` : `withdrawn (${v.withdrawReasons.map(formatWithdrawReason).join(', ') || 'not announced'})`;
      return `${v.prefix}: ${state}${v.inSync ? '' : ' [BIRD not in sync yet]'}\n`;
    })
    .join('');
}
