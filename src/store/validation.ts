/**
 * The one validation module. The store, the queue, the HTTP API and the CLI all validate through
 * these functions, so a bad value gets the same message wherever it enters. Each function either
 * returns the normalised value or throws a `ValidationError` naming the field and saying what a good
 * value looks like.
 */
import { ValidationError } from './errors.js';
import { FINISHED_STATES, JOB_STATE_LIST, ORPHAN_POLICIES, type JobState, type OrphanPolicy } from './states.js';
import type {
  JobCancelParams, JobClaimParams, JobCleanupParams, JobListParams, JobOutcome, JobPatch, JobSortKey, LeaseRef, NewJob, ScheduleInput,
} from './contract.js';
import { cronNext, parseCron } from './cron.js';

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
}

/** Validate a job to create. `at` prefixes field names (e.g. `jobs[3].`) for batch input. */
export function validateNewJob(job: unknown, now: number, maxDataBytes: number, at = ''): NormalizedJob {
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
