/** Typed errors of the daemon. Each keeps its cause; the API maps them to HTTP statuses. */
/**
 * A Controller operation refused or failed. `status` follows HTTP (the API answers with it; the
 * fleet agent maps it onto its own replies): 400 bad request, 404 unknown VIP, 422 invalid config on
 * reload, 500 permanent apply failure, 503 transient (BIRD unreachable, state not writable).
 */
export class OperationError extends Error {
    status;
    constructor(status, message, options) {
        super(message, options);
        this.name = 'OperationError';
        this.status = status;
    }
}
/** The config file could not be read (as opposed to parsed: that is core's ConfigError). */
export class ConfigLoadError extends Error {
    file;
    constructor(message, file, options) {
        super(message, options);
        this.name = 'ConfigLoadError';
        this.file = file;
    }
}
//# sourceMappingURL=errors.js.map