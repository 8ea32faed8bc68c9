/**
 * Typed errors. Callers branch on the class (or on `code`, which survives JSON and process
 * boundaries); messages name what is wrong and say what to do next.
 */

export class AgentqError extends Error {
  /** A stable, machine-readable code, e.g. `VALIDATION`, `NOT_FOUND`. */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input was rejected before anything was written. `field` names the offending input. */
export class ValidationError extends AgentqError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('VALIDATION', `${field}: ${message}`);
    this.field = field;
  }
}

/** No job (or other record) with that id exists. */
export class NotFoundError extends AgentqError {
  constructor(what: string, id: number | string) {
    super('NOT_FOUND', `${what} ${String(id)} does not exist; check the id (it may have been cleaned up)`);
  }
}

/** The record exists but its state forbids the change (e.g. editing a running job). */
export class StateConflictError extends AgentqError {
  /** `code` narrows what the conflict is (e.g. `MERGE_CONFLICT`); default `STATE_CONFLICT`. */
  constructor(message: string, code = 'STATE_CONFLICT') {
    super(code, message);
  }
}

/** The database file was written by a newer agentq; refusing to touch it. */
export class DatabaseTooNewError extends AgentqError {
  constructor(path: string, found: number, supported: number) {
    super(
      'DATABASE_TOO_NEW',
      `${path} has schema version ${found}, but this agentq supports up to ${supported}; ` +
        'upgrade agentq (npm i -g agentq@latest) or point it at another database file',
    );
  }
}

/** The file is not a usable SQLite database (corrupt, truncated, or not SQLite at all). */
export class DatabaseCorruptError extends AgentqError {
  constructor(path: string, detail: string) {
    super(
      'DATABASE_CORRUPT',
      `${path} is not a healthy agentq database (${detail}); it was left untouched. ` +
        'Restore a backup (agentq restore <file>) or move the file away to start fresh',
    );
  }
}

/** The database cannot be opened or written for a reason outside agentq (permissions, missing dir). */
export class DatabaseUnavailableError extends AgentqError {
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super('DATABASE_UNAVAILABLE', `cannot use database ${path}: ${detail}`, options);
  }
}

/** The disk (or the configured size cap) is full; nothing was written. Retry once space is freed. */
export class DatabaseFullError extends AgentqError {
  constructor(options?: ErrorOptions) {
    super(
      'DATABASE_FULL',
      'the database is full (disk space or max_page_count reached); nothing was written. ' +
        'Free disk space or run cleanup, then retry',
      options,
    );
  }
}

/** A job definition or registry misuse (duplicate type, unknown type). */
export class RegistryError extends AgentqError {
  constructor(message: string) {
    super('REGISTRY', message);
  }
}

/** Throw from a handler to fail the job at once, without further retries. */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/** Throw from a handler to put the job back for `delayMs` without spending an attempt. */
export class SnoozeError extends Error {
  readonly delayMs: number;
  constructor(delayMs: number, message = `snoozed for ${delayMs} ms`) {
    super(message);
    this.name = 'SnoozeError';
    if (!Number.isFinite(delayMs) || delayMs < 0) {
      throw new ValidationError('delayMs', `must be a finite number of milliseconds >= 0 (got ${String(delayMs)})`);
    }
    this.delayMs = delayMs;
  }
}

/** Raised inside a handler's context when the attempt ran past its `timeoutMs`. */
export class JobTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
    this.name = 'JobTimeoutError';
  }
}

/** Why a handler was aborted. */
export type JobAbortCause = 'cancel' | 'timeout' | 'lost' | 'shutdown';

/** The `reason` of an aborted handler's signal. */
export class JobAbortReason extends Error {
  /** Why the handler was aborted. */
  readonly kind: JobAbortCause;
  constructor(kind: JobAbortCause, message: string) {
    super(message);
    this.name = 'AbortError';
    this.kind = kind;
  }
}

/** A readable message for anything a handler may throw, including non-Errors and circular objects. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message === '' ? thrown.name : `${thrown.name}: ${thrown.message}`;
  if (thrown === null || thrown === undefined) return `handler threw ${String(thrown)} (throw an Error to give a reason)`;
  if (typeof thrown === 'string') return thrown;
  if (typeof thrown === 'object') {
    const seen = new WeakSet();
    try {
      const text = JSON.stringify(thrown, (_key, value: unknown) => {
        if (typeof value === 'bigint') return `${value}n`;
        if (typeof value === 'object' && value !== null) {
          if (seen.has(value)) return '[Circular]';
          seen.add(value);
        }
        return value;
      });
      return `handler threw a non-Error object: ${text.length > 1_000 ? `${text.slice(0, 1_000)}…` : text}`;
    } catch {
      return 'handler threw an object that cannot be described';
    }
  }
  if (typeof thrown === 'function') return `handler threw a function (${thrown.name || 'anonymous'}); throw an Error instead`;
  if (typeof thrown === 'symbol') return `handler threw ${thrown.toString()}`;
  return `handler threw ${typeof thrown} ${(thrown as number | boolean | bigint).toString()}`;
}
