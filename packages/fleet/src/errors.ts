/** Errors of the fleet adapter. Every one keeps its `cause`. */

/** Base class: anything fleet-related that went wrong. */
export class FleetError extends Error {
  override name = 'FleetError';
}

/** The `redis:` section (or a --redis URL) cannot be used. Permanent. */
export class FleetConfigError extends FleetError {
  override name = 'FleetConfigError';
}

/** Redis did not answer, or the connection is down. Transient. */
export class FleetUnavailableError extends FleetError {
  override name = 'FleetUnavailableError';
}

/** A remote command was not acknowledged in time. The desired entry stays; the node applies it when it can. */
export class FleetTimeoutError extends FleetError {
  override name = 'FleetTimeoutError';
  constructor(message: string, readonly commandId: string, readonly node: string) {
    super(message);
  }
}
