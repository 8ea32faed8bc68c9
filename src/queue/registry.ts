/**
 * Job definitions and the registry that holds them.
 *
 * `defineJob` turns a plain description into a frozen, validated definition whose `type`, data and
 * result types flow into `enqueue`: enqueuing a defined job with the wrong data shape is a compile
 * error, and the optional `validate` function (any function; a zod `parse` fits) rejects bad data at
 * run time before anything is written.
 */
import type { Job, JobDependency } from '../store/contract.js';
import { RegistryError, ValidationError } from '../store/errors.js';
import { ORPHAN_POLICIES, type OrphanPolicy } from '../store/states.js';
import { validateInteger, validateJobType, validateOrphan, validateTimeoutMs, LIMITS } from '../store/validation.js';
import { resolveRetryPolicy, type RetryPolicy } from './retry.js';

export interface JobLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What a handler receives besides its data. */
export interface JobContext {
  /** The job as claimed (a snapshot). */
  readonly job: Job;
  readonly jobId: number;
  readonly type: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborted on cancel, timeout, lost lease or shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  readonly workerId: string;
  /** Report progress (any small JSON value, e.g. a percentage); persisted and emitted, throttled. */
  progress(value: unknown): void;
  /** The jobs this one ran after (`dependsOn`), by id, each with its status and result. */
  dependencies(): Promise<JobDependency[]>;
  readonly log: JobLogger;
}

export type JobHandler<TData, TResult> = (data: TData, ctx: JobContext) => Promise<TResult> | TResult;

/** What `defineJob` accepts. Everything but `type` and `run` has a documented default. */
export interface JobDefinitionInput<TType extends string, TData, TResult> {
  /** Dotted name, e.g. `email.send`. */
  type: TType;
  run: JobHandler<TData, TResult>;
  /** Check (and optionally transform) data at enqueue time: throw to reject; return a value to replace it. */
  validate?: (data: unknown) => TData | undefined;
  /** Retry policy overrides (see `DEFAULT_RETRY`). */
  retry?: Partial<RetryPolicy>;
  /** Per-attempt time limit; default none. */
  timeoutMs?: number | null;
  /** Most jobs of this type running at once, across every process. Default: no type limit. */
  concurrency?: number | null;
  /** What the rescuer does when the worker running this job vanished. Default `retry`. */
  orphan?: OrphanPolicy;
  /** Default priority for jobs of this type. */
  priority?: number;
  /**
   * Whether a worker may claim jobs of this type ahead of a free slot (default true). Short jobs
   * gain throughput; long jobs (agent sessions) should not sit "running" while they wait for a slot.
   */
  prefetch?: boolean;
}

export interface JobDefinition<TType extends string = string, TData = unknown, TResult = unknown> {
  readonly type: TType;
  readonly run: JobHandler<TData, TResult>;
  readonly validate: ((data: unknown) => TData | undefined) | null;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number | null;
  readonly concurrency: number | null;
  readonly orphan: OrphanPolicy;
  readonly priority: number;
  readonly prefetch: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a definition of any data shape; call sites stay typed through DataOf.
export type AnyJobDefinition = JobDefinition<string, any, any>;
export type DataOf<D> = D extends JobDefinition<string, infer T> ? T : never;
export type ResultOf<D> = D extends JobDefinition<string, infer _T, infer R> ? R : never;

export function defineJob<const TType extends string, TData = unknown, TResult = unknown>(
  input: JobDefinitionInput<TType, TData, TResult>,
): JobDefinition<TType, TData, TResult> {
  if (typeof input !== 'object' || (input as unknown) === null) throw new ValidationError('definition', 'must be an object with type and run');
  validateJobType(input.type);
  if (typeof input.run !== 'function') throw new ValidationError('run', `must be a function (data, ctx) => result for job type "${input.type}"`);
  if (input.validate !== undefined && typeof input.validate !== 'function') {
    throw new ValidationError('validate', 'must be a function that throws on bad data (a zod schema\'s parse fits)');
  }
  if (input.prefetch !== undefined && typeof input.prefetch !== 'boolean') {
    throw new ValidationError('prefetch', `must be true or false (got ${typeof input.prefetch})`);
  }
  return Object.freeze({
    type: input.type,
    run: input.run,
    validate: input.validate ?? null,
    retry: Object.freeze(resolveRetryPolicy(input.retry)),
    timeoutMs: validateTimeoutMs(input.timeoutMs),
    concurrency: input.concurrency === undefined || input.concurrency === null
      ? null
      : validateInteger('concurrency', input.concurrency, 1, LIMITS.batchMax),
    orphan: input.orphan === undefined ? ORPHAN_POLICIES.retry : validateOrphan(input.orphan),
    priority: input.priority === undefined ? 0 : validateInteger('priority', input.priority, -LIMITS.priority, LIMITS.priority),
    prefetch: input.prefetch ?? true,
  });
}

/** Run a definition's validator on `data`; returns the data to store. */
export function validateJobData(def: AnyJobDefinition, data: unknown, field = 'data'): unknown {
  if (def.validate === null) return data;
  let out: unknown;
  try {
    out = def.validate(data);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ValidationError(field, `rejected by the "${def.type}" validator: ${detail}`);
  }
  return out === undefined ? data : out;
}

/** The job types a process knows how to run. Types can be added and removed at runtime. */
export class JobRegistry {
  private readonly definitions = new Map<string, AnyJobDefinition>();
  private listeners = new Set<() => void>();

  register(definition: AnyJobDefinition): void {
    if (typeof definition !== 'object' || (definition as unknown) === null || typeof definition.run !== 'function') {
      throw new RegistryError('register() takes a definition made by defineJob({ type, run })');
    }
    if (this.definitions.has(definition.type)) {
      throw new RegistryError(`job type "${definition.type}" is already registered; unregister it first or pick another name`);
    }
    this.definitions.set(definition.type, definition);
    this.changed();
  }

  /** Remove a type; jobs of it stay queued until a process that knows it claims them. */
  unregister(type: string): boolean {
    const removed = this.definitions.delete(type);
    if (removed) this.changed();
    return removed;
  }

  get(type: string): AnyJobDefinition | undefined {
    return this.definitions.get(type);
  }

  /** The definition of `type`, or a RegistryError naming the known types. */
  require(type: string): AnyJobDefinition {
    const def = this.definitions.get(type);
    if (def === undefined) {
      const known = this.types();
      throw new RegistryError(`unknown job type "${type}"; known types: ${known.length > 0 ? known.join(', ') : '(none registered)'}`);
    }
    return def;
  }

  has(type: string): boolean {
    return this.definitions.has(type);
  }

  types(): string[] {
    return [...this.definitions.keys()].sort();
  }

  list(): AnyJobDefinition[] {
    return this.types().map((t) => this.definitions.get(t) as AnyJobDefinition);
  }

  /** Called after every register/unregister. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
