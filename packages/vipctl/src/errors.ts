/**
 * vipctl's failure classes. Each carries the process exit code it maps to, so `run()` turns any of
 * them into exactly one line on stderr and a documented exit status (see EXIT_CODES_HELP).
 */

/** Documented exit statuses; scripts (and Puppet) branch on these. */
export const ExitCode = {
  ok: 0,
  /** The daemon answered with an error, or `config validate` found the file invalid. */
  failed: 1,
  /** Bad command line: unknown command/option, missing or malformed argument. */
  usage: 2,
  /** No daemon answering on the socket (not running, or not responding). */
  unreachable: 3,
  /** The socket exists but this user may not connect to it. */
  permission: 4,
  /** The daemon accepted and saved the change but could not apply it in BIRD yet; it keeps retrying. */
  savedRetrying: 5,
  /** `vipctl status`: the daemon answered, but BIRD is disconnected, a VIP is out of sync, or the lease expired. */
  degraded: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Shown at the end of `vipctl --help`. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the daemon refused or failed the request (its error is printed), or the config file is invalid
  2  usage error (unknown command or option, malformed argument)
  3  vipcontrol is not running or not answering on the socket
  4  permission denied on the socket (join its group or run as root)
  5  the change is saved but not yet applied in BIRD; vipcontrol keeps retrying (see vipctl status)
  6  status only: BIRD disconnected, a VIP not in sync with BIRD, or viphealth's lease expired
     (status --exit-zero keeps 0)
With --json, an error is one JSON object on stderr: {"error": "...", "exitCode": N[, "status": HTTP][, "saved": true]}.
`;

/** Base class: a failure already phrased for the operator. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A malformed argument caught locally, before any request is sent. */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, options);
  }
}

/** Nothing answers on the API socket. */
export class DaemonUnreachableError extends CliError {
  readonly socketPath: string;
  constructor(message: string, socketPath: string, options?: { cause?: unknown }) {
    super(message, ExitCode.unreachable, options);
    this.socketPath = socketPath;
  }
}

/** The kernel refused the connection to the socket (EACCES/EPERM). */
export class SocketPermissionError extends CliError {
  readonly socketPath: string;
  constructor(message: string, socketPath: string, options?: { cause?: unknown }) {
    super(message, ExitCode.permission, options);
    this.socketPath = socketPath;
  }
}

/**
 * The daemon answered with a non-2xx status; `message` is its `error` field. `saved`: the daemon kept
 * the change and retries applying it (exit 5), as opposed to refusing it (exit 1).
 */
export class ApiError extends CliError {
  readonly status: number;
  readonly saved: boolean;
  constructor(message: string, status: number, options?: { cause?: unknown; saved?: boolean }) {
    super(message, options?.saved ? ExitCode.savedRetrying : ExitCode.failed, options);
    this.status = status;
    this.saved = options?.saved ?? false;
  }
}

/** `vipctl status` answered, and what it shows is not all well (exit 6 unless --exit-zero). */
export class DegradedError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.degraded);
  }
}
