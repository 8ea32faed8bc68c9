/**
 * HTTP helpers shared by the API handlers: JSON responses, the one mapping from typed errors to
 * status codes, strict parsing of query strings and JSON bodies. Every rejection is a JSON body
 * `{ "error": { "code", "message", "field"?, "files"? } }`; no stack trace or SQL text ever leaves the server.
 */
import { GitError, MergeConflictError } from '../../sessions/worktrees.js';
import { parseInteger, parseTime } from '../../store/validation.js';
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


/** A positive integer id from a path segment. */
export function pathId(field: string, raw: string | undefined): number {
  return parseInteger(field, raw ?? '', 1, Number.MAX_SAFE_INTEGER);
}
