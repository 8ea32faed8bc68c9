/**
 * The one validation module. The store, the queue, the HTTP API and the CLI all validate through
 * these functions, so a bad value gets the same message wherever it enters. Each function either
 * returns the normalised value or throws a `ValidationError` naming the field and saying what a good
 * value looks like. Limits are written once, in LIMITS.
 *
 * In order: limits and primitives; jobs and patches; the parameters of each store operation (list,
 * claim, leases, outcomes, cancel, cleanup); schedules; sessions, events and approvals; and strings
 * from a command line or a query string turned into values (`parseInteger`, `parseTime`).
 */
import { ValidationError } from './errors.js';
import {
  DEPENDENCY_FAILURE_POLICIES, FINISHED_STATES, JOB_STATE_LIST, ORPHAN_POLICIES, type DependencyFailurePolicy, type JobState, type OrphanPolicy,
} from './states.js';
import type {
  JobCancelParams, JobClaimParams, JobCleanupParams, JobListParams, JobOutcome, JobPatch, JobSortKey, LeaseRef, NewJob, RateLimit, ScheduleInput,
} from './contract.js';
import { cronNext, parseCron } from './cron.js';
import { APPROVAL_STATE_LIST, PERMISSION_MODES, SESSION_STATE_LIST } from './session-contract.js';
import type {
  Approval, ApprovalAnswer, ApprovalScope, ApprovalState, NewApproval, NewSession, SessionPatch, SessionSettings, SessionWorktree,
} from './session-contract.js';

export const LIMITS = Object.freeze({
  typeLength: 128,
  keyLength: 255,
  priority: 1_000_000,
  maxAttempts: 1_000,
  /** setTimeout's own maximum. */
  timeoutMs: 2_147_483_647,
  /** Largest valid epoch ms (the JavaScript Date range). */
  epochMs: 8.64e15,
  listLimitDefault: 50,
  listLimitMax: 500,
  /** Largest page of approval requests. */
  approvalListMax: 1_000,
  /** Largest page of session events. */
  eventListMax: 5_000,
  batchMax: 10_000,
  /** Most jobs one job may depend on. */
  dependenciesMax: 10_000,
  defaultMaxDataBytes: 1_048_576,
});

export const DEFAULT_MAX_ATTEMPTS = 3;

/** Dotted names such as `maintenance.cleanup` or `session.run`. */
export const JOB_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*$/;

export const SORT_KEYS: readonly JobSortKey[] = Object.freeze(['id', 'createdAt', 'runAt', 'priority', 'updatedAt']);

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'Invalid' : value.toISOString()})`;
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function fail(field: string, expected: string, value: unknown): never {
  throw new ValidationError(field, `must be ${expected} (got ${describe(value)})`);
}

export function validateInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function validateJobType(value: unknown, field = 'type'): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'a non-empty job type name such as "email.send"', value);
  if (value.length > LIMITS.typeLength || !JOB_TYPE_PATTERN.test(value)) {
    fail(field, `a dotted name of letters, digits, "_" and "-", each part starting with a letter, at most ${LIMITS.typeLength} characters, e.g. "maintenance.cleanup"`, value);
  }
  return value;
}

/** Accepts epoch ms or a Date; returns epoch ms. */
export function validateTime(field: string, value: unknown): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) fail(field, 'a valid date', value);
    return ms;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > LIMITS.epochMs) {
    fail(field, 'a time as epoch milliseconds (a finite number >= 0) or a valid Date', value);
  }
  return Math.floor(value);
}

/** A string of 1 to `max` characters without NUL bytes. */
export function validateText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || value.includes('\0')) {
    fail(field, `a string of 1 to ${max} characters without NUL bytes`, value);
  }
  return value;
}

/** Like validateText, but null (or absent) is allowed and returned as null. */
export function validateOptionalText(field: string, value: unknown, max: number): string | null {
  return value === undefined || value === null ? null : validateText(field, value, max);
}

export function validateKey(field: string, value: unknown): string | null {
  return validateOptionalText(field, value, LIMITS.keyLength);
}

export function validateOrphan(value: unknown, field = 'orphan'): OrphanPolicy {
  if (value === ORPHAN_POLICIES.retry || value === ORPHAN_POLICIES.fail) return value;
  return fail(field, '"retry" or "fail"', value);
}

export function validateTimeoutMs(value: unknown, field = 'timeoutMs'): number | null {
  if (value === undefined || value === null) return null;
  return validateInteger(field, value, 1, LIMITS.timeoutMs);
}

/** Serialises a JSON value, enforcing the size cap. Returns the JSON text. */
export function serializeJson(field: string, value: unknown, maxBytes: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    throw new ValidationError(field, `must be JSON-serialisable (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof text !== 'string') fail(field, 'a JSON value (object, array, string, number, boolean or null)', value);
  // Byte length only matters when the string could exceed the cap even at one byte per char.
  if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) {
    throw new ValidationError(field, `is ${Buffer.byteLength(text)} bytes as JSON, over the ${maxBytes}-byte cap; store large payloads elsewhere and pass a reference`);
  }
  return text;
}

export interface NormalizedJob {
  /** Creation time, bound as @now by the insert. */
  now: number;
  type: string;
  data: string;
  priority: number;
  runAt: number;
  maxAttempts: number;
  uniqueKey: string | null;
  groupKey: string | null;
  timeoutMs: number | null;
  orphan: OrphanPolicy;
  /** What the job runs after; null for a job that depends on nothing (the common case, kept cheap). */
  dependencies: NormalizedDependencies | null;
}

export interface NormalizedDependencies {
  /** Existing job ids, distinct. */
  ids: number[];
  /** Positions of earlier items of the same batch, distinct. */
  items: number[];
  onFailure: DependencyFailurePolicy;
}

/** Validate a job to create. `at` prefixes field names (e.g. `jobs[3].`) for batch input. */
/** Who did something (a pause, a resume): a short label such as "cli alice@host" or "dashboard". */
export function validateActor(value: unknown, field = 'by'): string {
  return validateText(field, value, LIMITS.keyLength);
}

/** A rate limit: at least one start per window; windows from 1 ms to a day. Null removes it. */
export function validateRateLimit(value: unknown, field = 'rateLimit'): RateLimit | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) fail(field, '{ max, windowMs } (starts per window), or null to remove it', value);
  const { max, windowMs, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new ValidationError(`${field}.${extra}`, 'is not a field of a rate limit; give max and windowMs');
  return { max: validateInteger(`${field}.max`, max, 1, 1_000_000), windowMs: validateInteger(`${field}.windowMs`, windowMs, 1, 86_400_000) };
}

export function validateDependencyPolicy(value: unknown, field = 'onDependencyFailure'): DependencyFailurePolicy {
  if (value === DEPENDENCY_FAILURE_POLICIES.fail || value === DEPENDENCY_FAILURE_POLICIES.cancel || value === DEPENDENCY_FAILURE_POLICIES.run) return value;
  return fail(field, '"fail", "cancel" or "run"', value);
}

/** A list of distinct integers in [min, max] (duplicates dropped), at most `LIMITS.dependenciesMax`. */
function validateIdList(field: string, value: unknown, min: number, max: number, expected: string): number[] {
  if (!Array.isArray(value)) fail(field, `an array of ${expected}`, value);
  if (value.length > LIMITS.dependenciesMax) throw new ValidationError(field, `must list at most ${LIMITS.dependenciesMax} jobs (got ${value.length}); chain them through intermediate jobs`);
  for (const [i, v] of value.entries()) validateInteger(`${field}[${i}]`, v, min, max);
  return [...new Set(value as number[])];
}

/**
 * A job's dependencies, checked: `index` is the job's position in a `jobCreateMany` batch (null for
 * a single create, where `dependsOnItems` has nothing to name).
 */
function validateDependencies(input: NewJob, index: number | null, at: string): NormalizedDependencies | null {
  if (input.dependsOn === undefined && input.dependsOnItems === undefined) {
    if (input.onDependencyFailure !== undefined) validateDependencyPolicy(input.onDependencyFailure, `${at}onDependencyFailure`);
    return null;
  }
  const ids = input.dependsOn === undefined ? [] : validateIdList(`${at}dependsOn`, input.dependsOn, 1, Number.MAX_SAFE_INTEGER, 'job ids');
  let items: number[] = [];
  if (input.dependsOnItems !== undefined) {
    if (index === null) throw new ValidationError(`${at}dependsOnItems`, 'names items of the same batch: use it with jobCreateMany (enqueueMany), or give job ids in dependsOn');
    if (index === 0) fail(`${at}dependsOnItems`, 'empty for the first item of a batch (it can only name earlier items)', input.dependsOnItems);
    items = validateIdList(`${at}dependsOnItems`, input.dependsOnItems, 0, index - 1, `positions of earlier items (0 to ${index - 1})`);
  }
  if (ids.length + items.length > LIMITS.dependenciesMax) {
    throw new ValidationError(`${at}dependsOn`, `must list at most ${LIMITS.dependenciesMax} jobs with dependsOnItems (got ${ids.length + items.length})`);
  }
  const onFailure = input.onDependencyFailure === undefined ? DEPENDENCY_FAILURE_POLICIES.fail : validateDependencyPolicy(input.onDependencyFailure, `${at}onDependencyFailure`);
  return ids.length + items.length === 0 ? null : { ids, items, onFailure };
}

export function validateNewJob(job: unknown, now: number, maxDataBytes: number, at = '', index: number | null = null): NormalizedJob {
  if (typeof job !== 'object' || job === null || Array.isArray(job)) fail(at === '' ? 'job' : at.slice(0, -1), 'an object with at least a "type"', job);
  const input = job as NewJob;
  return {
    now,
    type: validateJobType(input.type, `${at}type`),
    data: serializeJson(`${at}data`, input.data, maxDataBytes),
    priority: input.priority === undefined ? 0 : validateInteger(`${at}priority`, input.priority, -LIMITS.priority, LIMITS.priority),
    runAt: input.runAt === undefined ? now : validateTime(`${at}runAt`, input.runAt),
    maxAttempts: input.maxAttempts === undefined ? DEFAULT_MAX_ATTEMPTS : validateInteger(`${at}maxAttempts`, input.maxAttempts, 1, LIMITS.maxAttempts),
    uniqueKey: validateKey(`${at}uniqueKey`, input.uniqueKey),
    groupKey: validateKey(`${at}groupKey`, input.groupKey),
    timeoutMs: validateTimeoutMs(input.timeoutMs, `${at}timeoutMs`),
    orphan: input.orphan === undefined ? ORPHAN_POLICIES.retry : validateOrphan(input.orphan, `${at}orphan`),
    dependencies: validateDependencies(input, index, at),
  };
}

export interface NormalizedPatch {
  priority?: number;
  runAt?: number;
  data?: string;
  maxAttempts?: number;
}

export function validatePatch(patch: unknown, maxDataBytes: number): NormalizedPatch {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) fail('patch', 'an object', patch);
  const input = patch as JobPatch & Record<string, unknown>;
  const allowed = new Set(['priority', 'runAt', 'data', 'maxAttempts']);
  for (const key of Object.keys(input)) {
    if (!allowed.has(key)) fail(`patch.${key}`, `absent: only priority, runAt, data and maxAttempts can be changed`, input[key]);
  }
  const out: NormalizedPatch = {};
  if (input.priority !== undefined) out.priority = validateInteger('priority', input.priority, -LIMITS.priority, LIMITS.priority);
  if (input.runAt !== undefined) out.runAt = validateTime('runAt', input.runAt);
  if ('data' in input) out.data = serializeJson('data', input.data, maxDataBytes);
  if (input.maxAttempts !== undefined) out.maxAttempts = validateInteger('maxAttempts', input.maxAttempts, 1, LIMITS.maxAttempts);
  if (Object.keys(out).length === 0) fail('patch', 'an object with at least one of priority, runAt, data, maxAttempts', patch);
  return out;
}

export function validateId(value: unknown, field = 'id'): number {
  return validateInteger(field, value, 1, Number.MAX_SAFE_INTEGER);
}

export function validateStatusList(value: unknown, field = 'status'): JobState[] {
  if (!Array.isArray(value)) fail(field, `an array of states (${JOB_STATE_LIST.join(', ')})`, value);
  return value.map((item, i) => {
    if (typeof item !== 'string' || !(JOB_STATE_LIST as readonly string[]).includes(item)) {
      fail(`${field}[${i}]`, `one of ${JOB_STATE_LIST.join(', ')}`, item);
    }
    return item as JobState;
  });
}

export function validateTypeList(value: unknown, field = 'type'): string[] {
  if (!Array.isArray(value)) fail(field, 'an array of job type names', value);
  return value.map((item, i) => validateJobType(item, `${field}[${i}]`));
}

export function validateLimit(value: unknown, field = 'limit', max: number = LIMITS.listLimitMax): number {
  return validateInteger(field, value, 1, max);
}

export interface ParsedSort {
  key: JobSortKey;
  descending: boolean;
}

export function validateSort(value: unknown): ParsedSort {
  if (typeof value !== 'string') fail('sort', `one of ${SORT_KEYS.join(', ')}, optionally prefixed with "-"`, value);
  const descending = value.startsWith('-');
  const key = descending ? value.slice(1) : value;
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    fail('sort', `one of ${SORT_KEYS.join(', ')}, optionally prefixed with "-"`, value);
  }
  return { key: key as JobSortKey, descending };
}

/** Cursor = base64url JSON `[sortValue, id]` of the last row of the previous page. */
export function encodeCursor(sortValue: number, id: number): string {
  return Buffer.from(JSON.stringify([sortValue, id])).toString('base64url');
}

export function decodeCursor(value: unknown): [number, number] {
  if (typeof value !== 'string' || value.length > 200) fail('cursor', 'the nextCursor string of a previous page', value);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (
    !Array.isArray(parsed) || parsed.length !== 2 ||
    !parsed.every((n) => typeof n === 'number' && Number.isSafeInteger(n))
  ) {
    fail('cursor', 'the nextCursor string of a previous page, unchanged', value);
  }
  return parsed as [number, number];
}

export function validateNow(value: unknown): number {
  return validateTime('now', value);
}

export function validateWorkerId(value: unknown): string {
  return validateText('workerId', value, LIMITS.keyLength);
}

export function validateErrorText(value: unknown, field = 'error'): string {
  if (typeof value !== 'string') fail(field, 'a string', value);
  // Error text is stored, not trusted: cap it so a runaway message cannot bloat the row.
  return value.length > 8_192 ? `${value.slice(0, 8_192)}…` : value;
}

/** Schedule names: 1-128 of letters, digits, `.`, `_`, `:` and `-`. */
export const SCHEDULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Interval schedules: at least a second, at most a year. */
export const SCHEDULE_EVERY_MS = Object.freeze({ min: 1_000, max: 366 * 86_400_000 });

export function validateScheduleName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !SCHEDULE_NAME_PATTERN.test(value)) {
    fail(field, 'a schedule name of 1-128 letters, digits, ".", "_", ":" or "-", e.g. "nightly-report"', value);
  }
  return value;
}

export interface NormalizedSchedule {
  name: string;
  type: string;
  data: string;
  cron: string | null;
  everyMs: number | null;
  timezone: 'utc' | 'local';
  priority: number;
  enabled: boolean;
}

export function validateScheduleInput(input: unknown, maxDataBytes: number): NormalizedSchedule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('schedule', 'an object with name, type and cron or everyMs', input);
  const s = input as ScheduleInput;
  const hasCron = s.cron !== undefined && s.cron !== null;
  const hasEvery = s.everyMs !== undefined && s.everyMs !== null;
  if (hasCron === hasEvery) {
    throw new ValidationError(hasCron ? 'everyMs' : 'cron', 'give exactly one of cron (e.g. "0 3 * * *") and everyMs (e.g. 60000)');
  }
  const timezone: unknown = s.timezone ?? 'utc';
  if (timezone !== 'utc' && timezone !== 'local') fail('timezone', '"utc" or "local"', timezone);
  if (s.enabled !== undefined && typeof s.enabled !== 'boolean') fail('enabled', 'true or false', s.enabled);
  let cron: string | null = null;
  if (hasCron) {
    const parsed = parseCron(s.cron, timezone);
    if (cronNext(parsed, Date.now()) === null) {
      throw new ValidationError('cron', `"${parsed.source}" never matches a date (e.g. February 30th); check the day and month fields`);
    }
    cron = parsed.source;
  }
  return {
    name: validateScheduleName(s.name),
    type: validateJobType(s.type),
    data: serializeJson('data', s.data, maxDataBytes),
    cron,
    everyMs: hasEvery ? validateInteger('everyMs', s.everyMs, SCHEDULE_EVERY_MS.min, SCHEDULE_EVERY_MS.max) : null,
    timezone,
    priority: s.priority === undefined ? 0 : validateInteger('priority', s.priority, -LIMITS.priority, LIMITS.priority),
    enabled: s.enabled ?? true,
  };
}


// Normalised parameters of the store's operations: what a list filter, a claim, a set of outcomes,
// a cancel or a cleanup asks for, checked and put in the one shape the drivers take.

/** Largest accepted progress value, as JSON bytes. */
export const PROGRESS_MAX_BYTES = 65_536;

export interface NormalizedList {
  statuses: JobState[] | null;
  types: string[] | null;
  groupKey: string | null;
  after: number | null;
  before: number | null;
  limit: number;
  sort: ParsedSort;
  cursor: [number, number] | null;
  /** Fields of `data` that must equal a value (a path of keys each), or null. */
  data: { path: string[]; value: string | number | boolean | null }[] | null;
  /** Text the error must contain (any case), or null. */
  error: string | null;
}

/** A `data` filter: dotted paths of keys (letters, digits, _ and -; up to 8 deep) to scalar JSON values. */
function validateDataFilter(value: unknown): NormalizedList['data'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('data', 'an object of dotted paths to values, e.g. { "path": "a.png", "user.id": 7 }', value);
  const entries = Object.entries(value);
  if (entries.length === 0) return null;
  if (entries.length > 8) throw new ValidationError('data', `may test at most 8 fields (got ${entries.length})`);
  return entries.map(([key, v]) => {
    const path = key.split('.');
    if (path.length > 8 || path.some((p) => !/^[A-Za-z0-9_-]{1,64}$/.test(p))) {
      throw new ValidationError(`data.${key}`, 'is not a path of keys: give keys of letters, digits, _ and - joined by dots, at most 8 deep');
    }
    if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      fail(`data.${key}`, 'a string, number, boolean or null (searches compare one value)', v);
    }
    return { path, value: v as string | number | boolean | null };
  });
}

export function normalizeListParams(params: JobListParams): NormalizedList {
  const statuses = params.status === undefined ? null : validateStatusList(params.status);
  const types = params.type === undefined ? null : validateTypeList(params.type);
  return {
    statuses: statuses !== null && statuses.length > 0 ? statuses : null,
    types: types !== null && types.length > 0 ? types : null,
    groupKey: params.groupKey === undefined ? null : validateKey('groupKey', params.groupKey),
    after: params.createdAfter === undefined ? null : validateTime('createdAfter', params.createdAfter),
    before: params.createdBefore === undefined ? null : validateTime('createdBefore', params.createdBefore),
    limit: params.limit === undefined ? LIMITS.listLimitDefault : validateLimit(params.limit),
    sort: validateSort(params.sort ?? '-id'),
    cursor: params.cursor === undefined || params.cursor === null ? null : decodeCursor(params.cursor),
    data: params.data === undefined ? null : validateDataFilter(params.data),
    error: params.error === undefined || params.error === '' ? null : validateText('error', params.error, LIMITS.keyLength),
  };
}

export interface NormalizedClaim {
  workerId: string;
  types: string[];
  limit: number;
  now: number;
  leaseMs: number;
  typeLimits: Readonly<Record<string, number>>;
}

export function normalizeClaimParams(params: JobClaimParams): NormalizedClaim {
  const workerId = validateWorkerId(params.workerId);
  const types = validateTypeList(params.types, 'types');
  const limit = validateInteger('limit', params.limit, 0, LIMITS.batchMax);
  const now = validateNow(params.now);
  const leaseMs = validateInteger('leaseMs', params.leaseMs, 1, LIMITS.timeoutMs);
  const typeLimits = params.typeLimits ?? {};
  for (const [type, max] of Object.entries(typeLimits)) {
    validateJobType(type, 'typeLimits');
    validateInteger(`typeLimits.${type}`, max, 0, LIMITS.batchMax);
  }
  return { workerId, types, limit, now, leaseMs, typeLimits };
}

export function validateLeases(value: unknown): LeaseRef[] {
  if (!Array.isArray(value)) throw new ValidationError('leases', 'must be an array of { id, token }');
  return value.map((l: unknown, i) => {
    if (typeof l !== 'object' || l === null) throw new ValidationError(`leases[${i}]`, 'must be { id, token }');
    const ref = l as LeaseRef;
    return { id: validateId(ref.id, `leases[${i}].id`), token: validateInteger(`leases[${i}].token`, ref.token, 0, Number.MAX_SAFE_INTEGER) };
  });
}

export type NormalizedOutcome =
  | { kind: 'completed'; id: number; token: number; result: string; progress: string | null }
  | { kind: 'failed'; id: number; token: number; error: string; retryAt: number | null }
  | { kind: 'snoozed'; id: number; token: number; runAt: number; error: string | null }
  | { kind: 'cancelled'; id: number; token: number; error: string }
  | { kind: 'released'; id: number; token: number };

export function normalizeOutcomes(value: unknown, maxDataBytes: number): NormalizedOutcome[] {
  if (!Array.isArray(value)) throw new ValidationError('outcomes', 'must be an array of job outcomes');
  return (value as JobOutcome[]).map((o, i) => normalizeOutcome(o, i, maxDataBytes));
}

function normalizeOutcome(o: JobOutcome, i: number, maxDataBytes: number): NormalizedOutcome {
  const field = `outcomes[${i}]`;
  if (typeof o !== 'object' || (o as unknown) === null) throw new ValidationError(field, 'must be an outcome object');
  const id = validateId(o.id, `${field}.id`);
  const token = validateInteger(`${field}.token`, o.token, 0, Number.MAX_SAFE_INTEGER);
  switch (o.kind) {
    case 'completed':
      return {
        kind: o.kind, id, token, result: serializeJson(`${field}.result`, o.result, maxDataBytes),
        progress: o.progress === undefined ? null : serializeJson(`${field}.progress`, o.progress, PROGRESS_MAX_BYTES),
      };
    case 'failed':
      return {
        kind: o.kind, id, token,
        error: validateErrorText(o.error, `${field}.error`),
        retryAt: o.retryAt === undefined || o.retryAt === null ? null : validateTime(`${field}.retryAt`, o.retryAt),
      };
    case 'snoozed':
      return {
        kind: o.kind, id, token,
        runAt: validateTime(`${field}.runAt`, o.runAt),
        error: o.error === undefined ? null : validateErrorText(o.error, `${field}.error`),
      };
    case 'cancelled':
      return { kind: o.kind, id, token, error: o.error === undefined ? 'cancelled' : validateErrorText(o.error, `${field}.error`) };
    case 'released':
      return { kind: o.kind, id, token };
    default:
      throw new ValidationError(`${field}.kind`, `must be one of completed, failed, snoozed, cancelled, released (got ${JSON.stringify((o as { kind: unknown }).kind)})`);
  }
}

export interface NormalizedCancel {
  now: number;
  reason: string;
  ids: number[] | null;
  filter: { types: string[] | null; statuses: JobState[] | null } | null;
}

export function normalizeCancelParams(params: JobCancelParams): NormalizedCancel {
  const now = validateNow(params.now);
  const reason = params.reason === undefined ? 'cancelled' : validateErrorText(params.reason, 'reason');
  let ids: number[] | null = null;
  if (params.ids !== undefined) {
    if (!Array.isArray(params.ids)) throw new ValidationError('ids', 'must be an array of job ids');
    if (params.ids.length > LIMITS.batchMax) throw new ValidationError('ids', `must hold at most ${LIMITS.batchMax} ids; split the request`);
    ids = params.ids.map((id, i) => validateId(id, `ids[${i}]`));
  }
  let filter: NormalizedCancel['filter'] = null;
  if (params.filter !== undefined) {
    const raw = params.filter as unknown;
    if (typeof raw !== 'object' || raw === null) throw new ValidationError('filter', 'must be an object with type and/or status');
    const { type, status } = params.filter;
    if (type === undefined && status === undefined) {
      throw new ValidationError('filter', 'must name at least a type or a status; to cancel everything pass every state explicitly');
    }
    filter = {
      types: type === undefined ? null : validateTypeList(type, 'filter.type'),
      statuses: status === undefined ? null : validateStatusList(status, 'filter.status'),
    };
  }
  if (ids === null && filter === null) throw new ValidationError('ids', 'give ids or a filter of jobs to cancel');
  return { now, reason, ids, filter };
}

export interface NormalizedCleanup {
  now: number;
  batchSize: number;
  /** Per finished state, delete rows finished before this time. */
  plan: [JobState, number][];
}

export function normalizeCleanupParams(params: JobCleanupParams): NormalizedCleanup {
  const now = validateNow(params.now);
  const batchSize = params.batchSize === undefined ? 1_000 : validateInteger('batchSize', params.batchSize, 1, LIMITS.batchMax);
  const olderThan = params.olderThan as unknown;
  if (typeof olderThan !== 'object' || olderThan === null) {
    throw new ValidationError('olderThan', 'must be an object of retention ages in ms per finished state, e.g. { completed: 604800000 }');
  }
  const plan: [JobState, number][] = [];
  for (const [state, age] of Object.entries(olderThan)) {
    if (!(FINISHED_STATES as readonly string[]).includes(state)) {
      throw new ValidationError(`olderThan.${state}`, `is not a finished state; use ${FINISHED_STATES.join(', ')}`);
    }
    plan.push([state as JobState, now - validateInteger(`olderThan.${state}`, age, 0, LIMITS.epochMs)]);
  }
  return { now, batchSize, plan };
}

/** Validate a batch of job creates (the array itself; each job is validated by `validateNewJob`). */
export function validateJobBatch(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError('jobs', `must be an array of jobs (got ${typeof value})`);
  if (value.length > LIMITS.batchMax * 10) {
    throw new ValidationError('jobs', `must hold at most ${LIMITS.batchMax * 10} jobs per call; split the batch`);
  }
  return value;
}

// Sessions, their settings and events, and approvals: what every SessionStore backend checks.

export interface NormalizedEvent {
  type: string;
  payload: unknown;
  /** The payload's JSON text, as stored. */
  json: string;
}

/** The settings a session has (see SessionSettings): the one list every entry point checks against. */
export const SESSION_SETTING_KEYS = Object.freeze(['model', 'permissionMode', 'maxTurns', 'maxBudgetUsd', 'allowedTools', 'disallowedTools', 'transcript', 'messagesPerSecond', 'projectSettings'] as const);

/** Validate session settings; unknown keys are refused so that typos do not pass silently. */
export function validateSessionSettings(value: unknown, field = 'settings'): SessionSettings {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(field, 'an object', value);
  const s = value as Record<string, unknown>;
  const out: SessionSettings = {};
  for (const key of Object.keys(s)) {
    const v = s[key];
    if (v === undefined) continue;
    switch (key) {
      case 'model': out.model = validateText(`${field}.model`, v, 200); break;
      case 'transcript': out.transcript = validateText(`${field}.transcript`, v, 200); break;
      case 'permissionMode':
        if (!(PERMISSION_MODES as readonly unknown[]).includes(v)) fail(`${field}.permissionMode`, `one of ${PERMISSION_MODES.join(', ')}`, v);
        out.permissionMode = v as SessionSettings['permissionMode'];
        break;
      case 'maxTurns': out.maxTurns = validateInteger(`${field}.maxTurns`, v, 1, 10_000); break;
      case 'maxBudgetUsd':
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100_000) fail(`${field}.maxBudgetUsd`, 'a number of dollars above 0', v);
        out.maxBudgetUsd = v;
        break;
      case 'allowedTools': case 'disallowedTools':
        if (!Array.isArray(v) || v.length > 200 || v.some((t) => typeof t !== 'string' || t.trim() === '' || t.length > 500)) {
          fail(`${field}.${key}`, 'a list of tool names or rules such as "Bash(npm test:*)" (at most 200)', v);
        }
        out[key] = [...(v as string[])];
        break;
      case 'projectSettings':
        if (typeof v !== 'boolean') fail(`${field}.projectSettings`, 'true or false', v);
        out.projectSettings = v;
        break;
      case 'messagesPerSecond':
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100_000) fail(`${field}.messagesPerSecond`, 'a positive number', v);
        out.messagesPerSecond = v;
        break;
      default:
        throw new ValidationError(`${field}.${key}`, `is not a setting; use one of ${SESSION_SETTING_KEYS.join(', ')}`);
    }
  }
  return out;
}

const WORKTREE_KEYS = ['repo', 'path', 'branch', 'base', 'subdir'] as const;

/** A session's worktree, validated: its JSON text, or null. */
export function serializeWorktree(value: unknown, field = 'worktree'): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return fail(field, 'null or an object with repo, path, branch, base and subdir', value);
  const w = value as Record<string, unknown>;
  for (const key of Object.keys(w)) if (!(WORKTREE_KEYS as readonly string[]).includes(key)) fail(`${field}.${key}`, `absent (a worktree has ${WORKTREE_KEYS.join(', ')})`, w[key]);
  const out: SessionWorktree = {
    repo: validateText(`${field}.repo`, w.repo, 4_096), path: validateText(`${field}.path`, w.path, 4_096), branch: validateText(`${field}.branch`, w.branch, 255),
    base: validateText(`${field}.base`, w.base, 255), subdir: w.subdir === '' ? '' : validateText(`${field}.subdir`, w.subdir, 4_096),
  };
  return JSON.stringify(out);
}

/** A session to create, validated; `settings` and `worktree` are JSON text. */
export function normalizeNewSession(input: unknown): { title: string; projectPath: string; provider: string; settings: string; worktree: string | null } {
  if (typeof input !== 'object' || input === null) fail('session', 'an object with at least projectPath', input);
  const s = input as NewSession;
  const projectPath = validateText('projectPath', s.projectPath, 4_096);
  const provider = s.provider === undefined ? 'claude' : validateText('provider', s.provider, 64);
  const title = s.title === undefined ? projectPath.split(/[\\/]/).filter(Boolean).at(-1) ?? projectPath : validateText('title', s.title, 500);
  const settings = serializeJson('settings', validateSessionSettings(s.settings), 16_384);
  return { title, projectPath, provider, settings, worktree: serializeWorktree(s.worktree) };
}

/** Default settings, validated: their JSON text. */
export function normalizeDefaults(settings: unknown): string {
  return serializeJson('settings', validateSessionSettings(settings), 16_384);
}

/** A session patch, validated: the values to set, by patch key (`archived` stays a boolean). */
export function normalizeSessionPatch(patch: unknown): Partial<Record<keyof SessionPatch, unknown>> {
  if (typeof patch !== 'object' || patch === null) fail('patch', 'an object', patch);
  const values: Partial<Record<keyof SessionPatch, unknown>> = {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === undefined) continue;
    switch (key as keyof SessionPatch) {
      case 'status':
        if (!(SESSION_STATE_LIST as readonly unknown[]).includes(value)) fail('status', `one of ${SESSION_STATE_LIST.join(', ')}`, value);
        values.status = value;
        break;
      case 'title': values.title = validateText('title', value, 500); break;
      case 'agentSessionId': values.agentSessionId = validateOptionalText('agentSessionId', value, 200); break;
      case 'agentCwd': values.agentCwd = validateOptionalText('agentCwd', value, 4_096); break;
      case 'preview': values.preview = value === null ? null : typeof value === 'string' ? value.slice(0, 500) : fail('preview', 'null or a string', value); break;
      case 'error': values.error = value === null ? null : typeof value === 'string' ? value.slice(0, 8_192) : fail('error', 'null or a string', value); break;
      case 'costUsd':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail('costUsd', 'a number of dollars >= 0', value);
        values.costUsd = value;
        break;
      case 'inputTokens': case 'outputTokens': case 'cacheReadTokens': case 'cacheCreationTokens': values[key as 'inputTokens'] = validateInteger(key, value, 0, Number.MAX_SAFE_INTEGER); break;
      case 'archived':
        if (typeof value !== 'boolean') fail('archived', 'true or false', value);
        values.archived = value;
        break;
      // Stored as its JSON text.
      case 'settings': values.settings = serializeJson('settings', validateSessionSettings(value), 16_384); break;
      case 'worktree': values.worktree = serializeWorktree(value); break;
      default:
        throw new ValidationError(`patch.${key}`, 'cannot be changed; see SessionPatch for what can');
    }
  }
  return values;
}

/** Validate a session list request: which list, the page size and where the page starts. */
export function normalizeSessionList(params: { archived?: boolean; limit?: number; cursor?: string | null }): { archived: boolean; limit: number; afterActivity: number; afterId: number } {
  if (params.archived !== undefined && typeof params.archived !== 'boolean') fail('archived', 'true or false', params.archived);
  const limit = params.limit === undefined ? LIMITS.listLimitDefault : validateLimit(params.limit);
  const [afterActivity, afterId] = params.cursor === undefined || params.cursor === null ? [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : decodeCursor(params.cursor);
  return { archived: params.archived === true, limit, afterActivity, afterId };
}

/** Validate events to append; field names are prefixed with `at` (e.g. `batches[2].`). */
export function normalizeEvents(events: unknown, at: string, maxDataBytes: number): NormalizedEvent[] {
  if (!Array.isArray(events) || events.length === 0 || events.length > LIMITS.batchMax) {
    fail(`${at}events`, `an array of 1 to ${LIMITS.batchMax} events`, events);
  }
  return (events as { type?: unknown; payload?: unknown }[]).map((e, i) => ({
    type: validateText(`${at}events[${i}].type`, (e as { type?: unknown } | null)?.type, 100),
    payload: e.payload,
    json: serializeJson(`${at}events[${i}].payload`, e.payload, maxDataBytes),
  }));
}

export interface NormalizedBatch {
  sessionId: number;
  preview: string | null;
  events: NormalizedEvent[];
}

export function normalizeBatches(batches: unknown, maxDataBytes: number): NormalizedBatch[] {
  if (!Array.isArray(batches)) fail('batches', 'an array of { sessionId, events }', batches);
  return (batches as { sessionId: number; events: unknown; preview?: string }[]).map((b, i) => ({
    sessionId: validateId(b.sessionId, `batches[${i}].sessionId`),
    preview: b.preview === undefined ? null : validateText(`batches[${i}].preview`, b.preview, 100_000).slice(0, 500),
    events: normalizeEvents(b.events, `batches[${i}].`, maxDataBytes),
  }));
}

export function normalizeEventList(params: { sessionId: number; afterSeq?: number; limit?: number }): { sessionId: number; afterSeq: number; limit: number } {
  return {
    sessionId: validateId(params.sessionId, 'sessionId'),
    afterSeq: params.afterSeq === undefined ? 0 : validateInteger('afterSeq', params.afterSeq, 0, Number.MAX_SAFE_INTEGER),
    limit: params.limit === undefined ? 500 : validateLimit(params.limit, 'limit', LIMITS.eventListMax),
  };
}

export function normalizeEventTail(params: { afterId: number; sessionId?: number; limit?: number }): { afterId: number; sessionId: number | null; limit: number } {
  return {
    afterId: validateInteger('afterId', params.afterId, 0, Number.MAX_SAFE_INTEGER),
    limit: params.limit === undefined ? 500 : validateLimit(params.limit, 'limit', LIMITS.eventListMax),
    sessionId: params.sessionId === undefined ? null : validateId(params.sessionId, 'sessionId'),
  };
}

export function normalizeLastPrompts(params: { sessionId: number; limit?: number }): { sessionId: number; limit: number } {
  return {
    sessionId: validateId(params.sessionId, 'sessionId'),
    limit: params.limit === undefined ? 10 : validateLimit(params.limit, 'limit', LIMITS.approvalListMax),
  };
}

/** An approval request to record, validated; `input` is its JSON text. */
export function normalizeNewApproval(input: unknown, maxDataBytes: number): { sessionId: number; jobId: number | null; toolUseId: string | null; tool: string; input: string; reason: string | null } {
  if (typeof input !== 'object' || input === null) fail('approval', 'an object with sessionId, tool and input', input);
  const a = input as NewApproval;
  return {
    sessionId: validateId(a.sessionId, 'approval.sessionId'),
    jobId: a.jobId === undefined || a.jobId === null ? null : validateId(a.jobId, 'approval.jobId'),
    toolUseId: a.toolUseId === undefined ? null : validateOptionalText('approval.toolUseId', a.toolUseId, 200),
    tool: validateText('approval.tool', a.tool, 200),
    input: serializeJson('approval.input', a.input ?? null, maxDataBytes),
    reason: a.reason === undefined || a.reason === null ? null : validateText('approval.reason', a.reason, 100_000).slice(0, 4_000),
  };
}

/** An answer, validated: `allowed` may carry a scope (and for `session` a rule); the others a message. */
export function normalizeApprovalAnswer(input: unknown): { status: ApprovalState; scope: ApprovalScope | null; rule: string | null; message: string | null } {
  if (typeof input !== 'object' || input === null) fail('answer', 'an object with status', input);
  const a = input as ApprovalAnswer;
  const closed = APPROVAL_STATE_LIST.filter((x) => x !== 'pending');
  if (!(closed as readonly unknown[]).includes(a.status)) fail('answer.status', `one of ${closed.join(', ')}`, a.status);
  const allowed = a.status === 'allowed';
  if (a.scope !== undefined && !allowed) throw new ValidationError('answer.scope', 'applies only to an allowed request');
  if (a.scope !== undefined && !(['once', 'session'] as unknown[]).includes(a.scope)) fail('answer.scope', 'once or session', a.scope);
  const scope = allowed ? a.scope ?? 'once' : null;
  if (a.rule !== undefined && scope !== 'session') throw new ValidationError('answer.rule', 'applies only to an allow for the session');
  if (scope === 'session' && a.rule === undefined) throw new ValidationError('answer.rule', 'is required for an allow for the session: the tool name, or a rule such as "Bash(npm test:*)"');
  return {
    status: a.status,
    scope,
    rule: a.rule === undefined ? null : validateText('answer.rule', a.rule, 500),
    message: a.message === undefined ? null : validateText('answer.message', a.message, 4_000),
  };
}

export function normalizeApprovalList(params: { sessionId?: number; status?: ApprovalState; limit?: number }): { sessionId: number | null; status: ApprovalState | null; limit: number } {
  if (params.status !== undefined && !(APPROVAL_STATE_LIST as readonly unknown[]).includes(params.status)) fail('status', `one of ${APPROVAL_STATE_LIST.join(', ')}`, params.status);
  return {
    sessionId: params.sessionId === undefined ? null : validateId(params.sessionId, 'sessionId'),
    status: params.status ?? null,
    limit: params.limit === undefined ? 100 : validateLimit(params.limit, 'limit', LIMITS.approvalListMax),
  };
}

/** The answer that closes all of a session's pending requests at once: never an allow. */
export function normalizeApprovalClose(input: unknown): { status: ApprovalState; message: string | null } {
  const { status, message } = normalizeApprovalAnswer(input);
  if (status === 'allowed') throw new ValidationError('answer.status', 'must be denied, expired or interrupted: requests are only ever allowed one by one');
  return { status, message };
}

/** Why an answer lost its compare-and-set: how the request was closed. */
export function approvalClosedMessage(a: Approval): string {
  return `approval ${String(a.id)} is already ${a.status}${a.scope === 'session' ? ' for the session' : ''}; nothing was changed`;
}

// Strings from a command line, a query string or a form, turned into values (the CLI and the HTTP
// API take them from here, so both say the same thing about the same input).

/** Throws ValidationError naming `field` with `message`. */
function refuse(field: string, message: string): never {
  throw new ValidationError(field, message);
}

/** A whole number from min to max, written in decimal. */
export function parseInteger(field: string, raw: string, min: number, max: number): number {
  if (!/^-?\d{1,16}$/.test(raw)) refuse(field, `must be a whole number (got "${raw.slice(0, 40)}")`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) refuse(field, `must be between ${String(min)} and ${String(max)} (got ${raw})`);
  return n;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A time given as epoch milliseconds or an ISO 8601 date(-time). Impossible calendar dates
 * (2026-02-30, 25:00) are rejected rather than rolled over; a date-time without a zone is UTC.
 */
export function parseTime(field: string, raw: unknown): number {
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw) || raw < 0) refuse(field, `must be epoch milliseconds or an ISO 8601 date (got ${String(raw)})`);
    return raw;
  }
  if (typeof raw !== 'string') return refuse(field, 'must be epoch milliseconds or an ISO 8601 date string');
  if (/^\d{1,16}$/.test(raw)) return parseInteger(field, raw, 0, Number.MAX_SAFE_INTEGER);
  const m = ISO.exec(raw);
  if (m === null) return refuse(field, `must be an ISO 8601 date such as 2026-11-29T10:00:00Z (got "${raw.slice(0, 40)}")`);
  const parts = m.slice(1, 7).map((v: string | undefined) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]));
  const real = probe.getUTCFullYear() === parts[0] && probe.getUTCMonth() === parts[1] - 1 && probe.getUTCDate() === parts[2]
    && probe.getUTCHours() === parts[3] && probe.getUTCMinutes() === parts[4] && probe.getUTCSeconds() === parts[5];
  if (!real) refuse(field, `is not a real date and time (got "${raw}")`);
  const fraction = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const zone = m[8];
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) as RegExpExecArray;
    if (Number(z[2]) > 23 || Number(z[3]) > 59) refuse(field, `has an impossible time zone offset (got "${zone}")`);
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  const ms = probe.getTime() + fraction - offsetMinutes * 60_000;
  return ms;
}

/**
 * A `data` search from `path=value` pairs as text (a query string, `--where`): a value that reads
 * as JSON (a number, true, false, null or a "quoted string") is that value, anything else is the
 * text itself. Undefined for no pairs; the store checks paths and values.
 */
export function parseDataSearch(pairs: readonly (readonly [string, string])[]): Record<string, string | number | boolean | null> | undefined {
  if (pairs.length === 0) return undefined;
  return Object.fromEntries(pairs.map(([path, raw]) => {
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Plain text: the value is the string as written.
    }
    return [path, value !== null && typeof value === 'object' ? raw : value];
  })) as Record<string, string | number | boolean | null>;
}
