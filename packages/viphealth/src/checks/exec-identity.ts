/**
 * Exec checks and hooks must not run with viphealth's supplementary groups: those (`vipcontrol`,
 * `bird`) open vipcontrol's API and BIRD's control socket, so any check script could withdraw VIPs,
 * post fake health reports or `birdc down`. An unprivileged process cannot drop groups for its
 * children by itself; with CAP_SETGID (systemd: AmbientCapabilities=CAP_SETGID) each command is
 * started through util-linux `setpriv --clear-groups`, which also clears the inherited and ambient
 * capabilities, so the command gets neither the groups nor the capability.
 */
import { readFileSync } from 'node:fs';

export const SETPRIV = '/usr/bin/setpriv';
const CAP_SETGID = 6;

/** Exec checks or hooks would keep groups viphealth cannot drop. */
export class ExecGroupsError extends Error {
  override readonly name = 'ExecGroupsError';
}

/** viphealth's supplementary groups besides its own primary group. */
export function supplementaryGroups(): number[] {
  const own = process.getegid!();
  return process.getgroups!().filter((g) => g !== own);
}

function hasCapSetgid(): boolean {
  const line = readFileSync('/proc/self/status', 'latin1').split('\n').find((l) => l.startsWith('CapEff:'));
  return line !== undefined && (BigInt(`0x${line.slice(7).trim()}`) & (1n << BigInt(CAP_SETGID))) !== 0n;
}

let wrapper: readonly string[] | undefined;

/** The argv prefix every command runs through: empty without supplementary groups, setpriv otherwise. */
export function execWrapper(): readonly string[] {
  wrapper ??= supplementaryGroups().length === 0 ? [] : [SETPRIV, '--clear-groups', '--inh-caps=-all', '--ambient-caps=-all', '--'];
  return wrapper;
}

/**
 * Throws ExecGroupsError when commands would run with supplementary groups that cannot be dropped
 * (no CAP_SETGID): one clear error at start-up or reload instead of every exec check failing.
 */
export function assertCanDropGroups(): void {
  const groups = supplementaryGroups();
  if (groups.length === 0 || hasCapSetgid()) return;
  throw new ExecGroupsError(
    `exec checks and hooks would run with viphealth's supplementary groups (${groups.join(', ')}); ` +
      'grant CAP_SETGID (systemd: AmbientCapabilities=CAP_SETGID) so they are dropped, or run viphealth without them',
  );
}
