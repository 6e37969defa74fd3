/** Typed errors of the daemon. Each keeps its cause; the API maps them to HTTP statuses. */
import type { ErrorAnswer } from '@vipcontrol/core';

/** HTTP-ish status an operation failed with. */
export type OperationStatus = 400 | 404 | 409 | 413 | 415 | 422 | 500 | 503;

/**
 * A Controller operation refused or failed. `status` follows HTTP (the API answers with it; the
 * fleet agent maps it onto its own replies): 400 bad request, 404 unknown VIP, 422 invalid config on
 * reload, 500 permanent apply failure, 503 transient (BIRD unreachable, state not writable).
 */
export class OperationError extends Error {
  readonly status: OperationStatus;
  /**
   * The change was accepted and saved, and stays desired: only applying it in BIRD failed (for now),
   * and the daemon retries. The API says so (`"saved": true`) so that scripts can tell "retrying" from
   * "rejected, nothing changed" without reading the message.
   */
  readonly saved: boolean;
  /** Machine-readable fields answered beside `error` (e.g. the health report's `missingVipSets`). */
  readonly details: Pick<ErrorAnswer, 'missingVipSets'> | undefined;
  constructor(status: OperationStatus, message: string, options?: { cause?: unknown; saved?: boolean; details?: Pick<ErrorAnswer, 'missingVipSets'> }) {
    super(message, options);
    this.name = 'OperationError';
    this.status = status;
    this.saved = options?.saved ?? false;
    this.details = options?.details;
  }
}

/** The config file could not be read (as opposed to parsed: that is core's ConfigError). */
export class ConfigLoadError extends Error {
  readonly file: string;
  constructor(message: string, file: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigLoadError';
    this.file = file;
  }
}
