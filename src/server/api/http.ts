/**
 * HTTP helpers shared by the API handlers: JSON responses, the one mapping from typed errors to
 * status codes, strict parsing of query strings and JSON bodies. Every rejection is a JSON body
 * `{ "error": { "code", "message", "field"?, "files"? } }`; no stack trace or SQL text ever leaves the server.
 */
import { GitError, MergeConflictError } from '../../sessions/worktrees.js';
import {
  AgentqError, DatabaseFullError, DatabaseUnavailableError, NotFoundError, RegistryError, StateConflictError, ValidationError,
} from '../../store/errors.js';

/** An HTTP-level rejection with its status (e.g. 413, 415, 405). */
export class HttpError extends AgentqError {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(code, message);
    this.status = status;
    this.field = field;
  }
}

/** The request body grew past the limit while it was read (see readBody). */
export class BodyTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, 'BODY_TOO_LARGE', `the request body is larger than ${String(limit)} bytes; send less data per request`);
  }
}

const API_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

/**
 * Request bodies read by the server (within its limit) and JSON response texts, kept beside the
 * Fetch objects so neither is turned into a web stream and back: small JSON is most of the traffic,
 * and a stream per body costs more than the handler. Readers fall back to the streams.
 */
const requestBodies = new WeakMap<Request, Buffer>();
const responseTexts = new WeakMap<Response, string>();

export function attachBody(request: Request, body: Buffer): void {
  requestBodies.set(request, body);
}

/** The JSON text a response was made from, if it came from `json()`. */
export function responseText(response: Response): string | undefined {
  return responseTexts.get(response);
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = JSON.stringify(body);
  const response = new Response(text, { status, headers: { ...API_HEADERS, ...headers } });
  responseTexts.set(response, text);
  return response;
}

export function errorJson(status: number, code: string, message: string, field?: string): Response {
  return json(status, { error: { code, message, ...(field === undefined ? {} : { field }) } });
}

/** Map anything thrown by a handler to a response; unexpected errors are logged, not shown. */
export function errorResponse(error: unknown, log: (message: string, error: unknown) => void): Response {
  if (error instanceof HttpError) return errorJson(error.status, error.code, error.message, error.field);
  if (error instanceof ValidationError) return errorJson(400, error.code, error.message, error.field);
  if (error instanceof RegistryError) return errorJson(400, error.code, error.message, 'type');
  if (error instanceof NotFoundError) return errorJson(404, error.code, error.message);
  // The files in the way, for a merge or rebase that would conflict (nothing was changed).
  if (error instanceof MergeConflictError) return json(409, { error: { code: error.code, message: error.message, files: error.files } });
  if (error instanceof StateConflictError) return errorJson(409, error.code, error.message);
  // git missing or failing: its words, which say what to do.
  if (error instanceof GitError) return errorJson(500, error.code, error.message);
  if (error instanceof DatabaseUnavailableError || error instanceof DatabaseFullError) {
    return errorJson(503, error.code, error.message, undefined);
  }
  log('unexpected error while handling a request', error);
  return errorJson(500, 'INTERNAL', 'the server failed to handle this request; its log says why');
}

export function badRequest(field: string, message: string): never {
  throw new ValidationError(field, message);
}

export function methodNotAllowed(method: string, allowed: string[]): never {
  throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported here; use ${allowed.join(' or ')}`);
}

/**
 * Read a JSON body: at most the server's body limit (enforced by the body stream), content type
 * `application/json`, well-formed. `required: false` accepts an empty body (returns undefined).
 */
export async function readJson(request: Request, options: { required?: boolean } = {}): Promise<unknown> {
  const attached = requestBodies.get(request);
  const length = request.headers.get('content-length');
  const hasBody = attached !== undefined ? attached.length > 0 : request.body !== null && length !== '0';
  if (!hasBody) {
    if (options.required === false) return undefined;
    throw new ValidationError('body', 'a JSON body is required');
  }
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `send the body as JSON with Content-Type: application/json (got "${type || 'none'}")`);
  }
  // The server read the body already (at most its limit), so this cannot fail or grow.
  const text = attached !== undefined ? attached.toString('utf8') : await request.text();
  if (text.trim() === '') {
    if (options.required === false) return undefined;
    throw new ValidationError('body', 'a JSON body is required');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError('body', `is not valid JSON (${(error as Error).message})`);
  }
}

/** A JSON object with only the given keys; names the first unknown key (a typo, most likely). */
export function objectBody(body: unknown, allowed: readonly string[], field = 'body'): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) badRequest(field, 'must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) badRequest(field === 'body' ? key : `${field}.${key}`, `is not a known field; expected ${allowed.join(', ')}`);
  }
  return body as Record<string, unknown>;
}

/** Strict query-string reader: unknown parameters and repeated single values are rejected. */
export class Query {
  private readonly params: URLSearchParams;
  constructor(url: URL, allowed: readonly string[]) {
    this.params = url.searchParams;
    for (const key of new Set(this.params.keys())) {
      if (!allowed.includes(key)) badRequest(key, `is not a known query parameter; expected ${allowed.join(', ')}`);
    }
  }

  string(name: string): string | undefined {
    const values = this.params.getAll(name);
    if (values.length > 1) badRequest(name, 'give it once');
    return values[0];
  }

  /** Comma-separated or repeated values (`status=queued,running` or `status=queued&status=running`). */
  list(name: string): string[] | undefined {
    const values = this.params.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim());
    if (values.length === 0) return undefined;
    if (values.some((v) => v === '')) badRequest(name, 'has an empty value');
    return values;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.string(name);
    return raw === undefined ? undefined : parseInteger(name, raw, min, max);
  }

  boolean(name: string): boolean | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return badRequest(name, `must be true or false (got "${raw}")`);
  }

  time(name: string): number | undefined {
    const raw = this.string(name);
    return raw === undefined ? undefined : parseTime(name, raw);
  }
}

export function parseInteger(field: string, raw: string, min: number, max: number): number {
  if (!/^-?\d{1,16}$/.test(raw)) badRequest(field, `must be a whole number (got "${raw.slice(0, 40)}")`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) badRequest(field, `must be between ${String(min)} and ${String(max)} (got ${raw})`);
  return n;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A time given as epoch milliseconds or an ISO 8601 date(-time). Impossible calendar dates
 * (2026-02-30, 25:00) are rejected rather than rolled over; a date-time without a zone is UTC.
 */
export function parseTime(field: string, raw: unknown): number {
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw) || raw < 0) badRequest(field, `must be epoch milliseconds or an ISO 8601 date (got ${String(raw)})`);
    return raw;
  }
  if (typeof raw !== 'string') return badRequest(field, 'must be epoch milliseconds or an ISO 8601 date string');
  if (/^\d{1,16}$/.test(raw)) return parseInteger(field, raw, 0, Number.MAX_SAFE_INTEGER);
  const m = ISO.exec(raw);
  if (m === null) return badRequest(field, `must be an ISO 8601 date such as 2026-11-29T10:00:00Z (got "${raw.slice(0, 40)}")`);
  const parts = m.slice(1, 7).map((v: string | undefined) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]));
  const real = probe.getUTCFullYear() === parts[0] && probe.getUTCMonth() === parts[1] - 1 && probe.getUTCDate() === parts[2]
    && probe.getUTCHours() === parts[3] && probe.getUTCMinutes() === parts[4] && probe.getUTCSeconds() === parts[5];
  if (!real) badRequest(field, `is not a real date and time (got "${raw}")`);
  const fraction = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const zone = m[8];
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) as RegExpExecArray;
    if (Number(z[2]) > 23 || Number(z[3]) > 59) badRequest(field, `has an impossible time zone offset (got "${zone}")`);
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  const ms = probe.getTime() + fraction - offsetMinutes * 60_000;
  return ms;
}

/** A positive integer id from a path segment. */
export function pathId(field: string, raw: string | undefined): number {
  return parseInteger(field, raw ?? '', 1, Number.MAX_SAFE_INTEGER);
}
