/**
 * Typed errors. Every failure the tools can report is one of these; the CLI
 * layer (shared/cli.ts) turns them into one readable line and an exit code.
 */

export class CfnError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from the user: flags, configuration files, metadata. */
export class ConfigError extends CfnError {
  constructor(
    message: string,
    /** File the bad input came from, when there is one. */
    readonly file?: string,
    /** Key path inside that input, e.g. `config.files./etc/x.mode`. */
    readonly keyPath?: string,
  ) {
    super([file, keyPath].filter(Boolean).join(': ') + (file || keyPath ? ': ' : '') + message);
  }
}

/** Wrong command-line usage; exits 2 like optparse/argparse/yargs. */
export class UsageError extends CfnError {
  override readonly exitCode = 2;
}

/** No usable credentials, or a credential source is unusable. */
export class CredentialError extends CfnError {}

/** The connection failed: refused, reset, DNS, TLS, timeout. Retryable. */
export class NetworkError extends CfnError {
  constructor(
    message: string,
    readonly url: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The server answered with an error. For AWS Query APIs `code` and
 * `serverMessage` come from the ErrorResponse body (XML or JSON).
 */
export class ApiError extends CfnError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly serverMessage: string,
    readonly url: string,
    /** Server `Date` header, used for clock-skew correction. */
    readonly serverDate?: string,
    /** Server `Retry-After` header: how long it asks us to wait before another attempt. */
    readonly retryAfter?: string,
  ) {
    super(`HTTP ${status} ${code}${serverMessage ? `: ${serverMessage}` : ''} (${url})`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The server answered 2xx but not in a shape we understand. */
export class ProtocolError extends CfnError {}

/**
 * A bound was reached: a size, a count, a depth, a time. The message names
 * the limit and how to raise it; never retried (the next attempt hits it too).
 */
export class LimitError extends CfnError {
  constructor(
    /** The limit's name, as `--limit NAME=VALUE` sets it. */
    readonly limit: string,
    message: string,
  ) {
    super(message);
  }
}
