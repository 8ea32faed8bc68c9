/**
 * Jobs and schedules over HTTP: /api/jobs, /api/jobs/:jobId, /api/schedules, /api/schedules/:name.
 * Every input is checked before anything is written; see docs/api.md for each route.
 */
import { JOB_STATE_LIST, isJobState, type JobState } from '../../store/states.js';
import { ValidationError } from '../../store/errors.js';
import type { EnqueueOptions, FlowNode } from '../../system/job-system.js';
import type { JobDependency, JobPatch, RateLimit, ScheduleInput } from '../../store/contract.js';
import type { ApiContext, RouteArgs } from './context.js';
import { LIMITS, parseDataSearch, parseTime, validateInteger } from '../../store/validation.js';
import { HttpError, Query, badRequest, json, methodNotAllowed, objectBody, pathId, readJson } from './http.js';

const LIST_PARAMS = ['status', 'type', 'group', 'createdAfter', 'createdBefore', 'cursor', 'limit', 'sort', 'action', 'error'] as const;

/** `data.<path>=<value>` query parameters as a `data` search (values read as in `parseDataSearch`). */
function dataSearch(url: URL): Record<string, string | number | boolean | null> | undefined {
  return parseDataSearch([...url.searchParams.entries()].filter(([k]) => k.startsWith('data.')).map(([k, v]) => [k.slice('data.'.length), v]));
}
const CREATE_FIELDS = ['type', 'data', 'priority', 'runAt', 'delay', 'maxAttempts', 'uniqueKey', 'groupKey', 'timeoutMs', 'dependsOn', 'onDependencyFailure', 'children'] as const;
/** Dependencies and dependents a job page shows (all of them through the library's jobDependencies). */
const DEPENDENCIES_SHOWN = 200;
const PATCH_FIELDS = ['priority', 'runAt', 'data', 'maxAttempts', 'action'] as const;
/** Largest page a client may ask for. */
export const LIST_LIMIT_MAX = 500;

function states(field: string, values: string[] | undefined): JobState[] | undefined {
  if (values === undefined) return undefined;
  for (const v of values) if (!isJobState(v)) badRequest(field, `"${v}" is not a job status; use ${JOB_STATE_LIST.join(', ')}`);
  return values as JobState[];
}

/**
 * The fields of a create or a patch, as the library takes them: JSON already gives numbers and
 * strings, so only times written as ISO text are turned into values here; everything else is
 * checked once, by the store's validation (same limits, same messages as the library's).
 */
function given(body: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => body[f] !== undefined).map((f) => [f, body[f]]));
}

/** GET /api/jobs (list, or `?action=stats`). */
export async function jobsLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  const url = new URL(request.url);
  const q = new Query(url, [...LIST_PARAMS, ...[...url.searchParams.keys()].filter((k) => k.startsWith('data.'))]);
  const action = q.string('action');
  if (action !== undefined) {
    if (action !== 'stats') badRequest('action', `"${action}" is not an action of GET /api/jobs; use action=stats`);
    if ([...url.searchParams.keys()].length > 1) badRequest('action', 'action=stats takes no other parameters');
    return json(200, await ctx.system.stats());
  }
  const createdAfter = q.time('createdAfter');
  const createdBefore = q.time('createdBefore');
  const group = q.string('group');
  const cursor = q.string('cursor');
  const sort = q.string('sort');
  const limit = q.integer('limit', 1, LIST_LIMIT_MAX);
  const status = states('status', q.list('status'));
  const type = q.list('type');
  const error = q.string('error');
  const data = dataSearch(url);
  const page = await ctx.system.listJobs({
    ...(data === undefined ? {} : { data }),
    ...(error === undefined ? {} : { error }),
    ...(status === undefined ? {} : { status }),
    ...(type === undefined ? {} : { type }),
    ...(group === undefined ? {} : { groupKey: group }),
    ...(createdAfter === undefined ? {} : { createdAfter }),
    ...(createdBefore === undefined ? {} : { createdBefore }),
    ...(cursor === undefined ? {} : { cursor }),
    ...(sort === undefined ? {} : { sort }),
    ...(limit === undefined ? {} : { limit }),
  });
  return json(200, page);
}

/** POST /api/jobs (create), PUT /api/jobs (retry many), DELETE /api/jobs (cancel many). */
export async function jobsAction(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  if (request.method === 'POST') return createJob(ctx, request);
  if (request.method === 'PUT') return retryJobs(ctx, request);
  if (request.method === 'DELETE') return cancelJobs(ctx, request);
  return methodNotAllowed(request.method, ['GET', 'POST', 'PUT', 'DELETE']);
}

/** PUT /api/jobs `{ "action": "retry", "filter": { "status": ["failed"], "type": ["…"] } }`: retry what the filter matches (at most 10,000 a call). */
async function retryJobs(ctx: ApiContext, request: Request): Promise<Response> {
  new Query(new URL(request.url), []);
  const body = objectBody(await readJson(request), ['action', 'filter']);
  if (body.action !== 'retry') badRequest('action', `${JSON.stringify(body.action)} is not an action of PUT /api/jobs; use "retry" (with a filter)`);
  const filter = objectBody(body.filter ?? {}, ['status', 'type'], 'filter');
  const status = filter.status === undefined ? undefined : states('filter.status', Array.isArray(filter.status) ? filter.status as string[] : badRequest('filter.status', 'must be a list of states: failed, cancelled'));
  if (filter.type !== undefined && !(Array.isArray(filter.type) && filter.type.every((t) => typeof t === 'string'))) badRequest('filter.type', 'must be a list of job types');
  return json(200, await ctx.system.retryJobs({ ...(status === undefined ? {} : { status }), ...(filter.type === undefined ? {} : { type: filter.type }) }));
}

async function createJob(ctx: ApiContext, request: Request): Promise<Response> {
  new Query(new URL(request.url), []);
  const body = objectBody(await readJson(request), CREATE_FIELDS);
  const type = body.type;
  if (typeof type !== 'string' || type === '') badRequest('type', 'must be the name of a job type');
  if (!ctx.enqueueable(type)) {
    badRequest('type', `"${type}" is not a job type this server accepts; register its definition (or list it in acceptTypes) first`);
  }
  if (body.children !== undefined) {
    const root = flowNode(ctx, body, '');
    const flow = await ctx.system.enqueueFlow(root);
    const job = await ctx.system.getJob(flow.id);
    return json(flow.created ? 201 : 200, { job, created: flow.created, flow });
  }
  const { job, created } = await ctx.system.enqueueAny(type, body.data ?? null, createOptions(body));
  return json(created ? 201 : 200, { job, created });
}

/** The enqueue options of a create body (times written as text turned into values; the library checks the rest). */
function createOptions(body: Record<string, unknown>, at = ''): EnqueueOptions {
  if (body.runAt !== undefined && body.delay !== undefined) badRequest(`${at}delay`, 'give either runAt or delay, not both');
  const options = given(body, ['priority', 'maxAttempts', 'uniqueKey', 'groupKey', 'timeoutMs', 'dependsOn', 'onDependencyFailure']) as EnqueueOptions;
  if (body.runAt !== undefined) options.runAt = parseTime(`${at}runAt`, body.runAt);
  if (body.delay !== undefined) options.delayMs = validateInteger(`${at}delay`, body.delay, 0, LIMITS.epochMs);
  return options;
}

/** A create body with `children`, as a flow for enqueueFlow: every node's type must be one this server accepts. */
function flowNode(ctx: ApiContext, value: unknown, at: string): FlowNode {
  const body = objectBody(value, CREATE_FIELDS, at === '' ? undefined : at);
  const field = (f: string): string => (at === '' ? f : `${at}.${f}`);
  if (typeof body.type !== 'string' || body.type === '') badRequest(field('type'), 'must be the name of a job type');
  if (!ctx.enqueueable(body.type)) badRequest(field('type'), `"${body.type}" is not a job type this server accepts; register its definition (or list it in acceptTypes) first`);
  const children = body.children ?? [];
  if (!Array.isArray(children)) badRequest(field('children'), 'must be an array of jobs, each { type, data, children? }');
  return {
    type: body.type,
    data: body.data ?? null,
    ...createOptions(body, at === '' ? '' : `${at}.`),
    children: children.map((c, i) => flowNode(ctx, c, field(`children[${i}]`))),
  };
}

async function cancelJobs(ctx: ApiContext, request: Request): Promise<Response> {
  const q = new Query(new URL(request.url), ['status', 'type']);
  const fromQuery = { status: states('status', q.list('status')), type: q.list('type') };
  const body = await readJson(request, { required: false });
  let params: { ids?: number[]; filter?: { type?: string[]; status?: JobState[] } };
  if (body === undefined) {
    if (fromQuery.status === undefined && fromQuery.type === undefined) {
      badRequest('filter', 'say which jobs to cancel: ?status=…&type=…, or a body { "ids": [...] } or { "filter": { "status": [...], "type": [...] } }');
    }
    params = { filter: { ...(fromQuery.type === undefined ? {} : { type: fromQuery.type }), ...(fromQuery.status === undefined ? {} : { status: fromQuery.status }) } };
  } else {
    if (fromQuery.status !== undefined || fromQuery.type !== undefined) badRequest('filter', 'give the filter in the query or in the body, not both');
    const b = objectBody(body, ['ids', 'filter']);
    if ((b.ids === undefined) === (b.filter === undefined)) badRequest('ids', 'give either ids or filter');
    if (Array.isArray(b.ids) && b.ids.length === 0) badRequest('ids', 'name at least one job id');
    if (b.filter !== undefined) objectBody(b.filter, ['status', 'type'], 'filter');
    // The library checks the ids and the filter's lists (same limits, same messages as everywhere).
    params = b;
  }
  const r = await ctx.system.cancel({ ...params, reason: 'cancelled through the API' });
  return json(200, { cancelled: r.cancelled, requested: r.requested });
}

/** GET /api/jobs/:jobId: the job and its attempt history. */
export async function jobLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  const id = pathId('jobId', params.jobId);
  const job = await ctx.system.getJob(id);
  if (job === null) throw new HttpError(404, 'NOT_FOUND', `job ${String(id)} does not exist; check the id (it may have been cleaned up)`);
  const [attempts, dependencies] = await Promise.all([ctx.system.jobAttempts(id), jobDependencySummary(ctx, id)]);
  return json(200, { job, attempts, dependencies });
}

/** What a job runs after and what runs after it, without results (those come from the library), each list capped. */
export async function jobDependencySummary(ctx: Pick<ApiContext, 'system'>, id: number): Promise<{
  dependsOn: Omit<JobDependency, 'result'>[]; dependsOnTotal: number; dependents: Omit<JobDependency, 'result'>[]; dependentsTotal: number;
}> {
  const d = await ctx.system.jobDependencies(id, DEPENDENCIES_SHOWN);
  const brief = ({ result: _result, ...rest }: JobDependency): Omit<JobDependency, 'result'> => rest;
  return {
    dependsOn: d.dependsOn.slice(0, DEPENDENCIES_SHOWN).map(brief), dependsOnTotal: d.dependsOn.length,
    dependents: d.dependents.map(brief), dependentsTotal: d.dependentsTotal,
  };
}

/** PUT /api/jobs/:jobId (change a queued job, or `{"action":"retry"}`), DELETE /api/jobs/:jobId (cancel). */
export async function jobAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'PUT' && request.method !== 'DELETE') methodNotAllowed(request.method, ['GET', 'PUT', 'DELETE']);
  new Query(new URL(request.url), []);
  const id = pathId('jobId', params.jobId);
  if (request.method === 'DELETE') return json(200, await ctx.system.cancelJob(id, 'cancelled through the API'));
  const body = objectBody(await readJson(request), PATCH_FIELDS);
  if (body.action !== undefined) {
    if (body.action !== 'retry') badRequest('action', `${JSON.stringify(body.action)} is not an action; use "retry"`);
    if (Object.keys(body).length > 1) badRequest('action', 'retry takes no other fields');
    return json(200, { job: await ctx.system.retryJob(id) });
  }
  if (Object.keys(body).length === 0) badRequest('body', `name at least one of ${PATCH_FIELDS.join(', ')}`);
  const patch = given(body, ['priority', 'maxAttempts']) as JobPatch;
  if (body.runAt !== undefined) patch.runAt = parseTime('runAt', body.runAt);
  if ('data' in body) patch.data = body.data;
  return json(200, { job: await ctx.system.updateJob(id, patch) });
}

const SCHEDULE_FIELDS = ['name', 'type', 'cron', 'everyMs', 'timezone', 'data', 'priority', 'enabled'] as const;

function scheduleInput(body: Record<string, unknown>, name?: string): ScheduleInput {
  const input = { ...body, ...(name === undefined ? {} : { name }) } as unknown as ScheduleInput;
  if (typeof input.type !== 'string') throw new ValidationError('type', 'must be the job type the schedule enqueues');
  return input;
}

/** GET /api/schedules. */
export async function schedulesLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  return json(200, { schedules: await ctx.system.schedules.list() });
}

/** POST /api/schedules: create one (409 if the name is taken). */
export async function schedulesAction(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['GET', 'POST']);
  new Query(new URL(request.url), []);
  const body = objectBody(await readJson(request), SCHEDULE_FIELDS);
  const input = scheduleInput(body);
  if (!ctx.enqueueable(input.type)) badRequest('type', `"${input.type}" is not a job type this server accepts`);
  if (typeof input.name === 'string' && (await ctx.system.schedules.get(input.name)) !== null) {
    throw new HttpError(409, 'STATE_CONFLICT', `a schedule named "${input.name}" exists; change it with PUT /api/schedules/${encodeURIComponent(input.name)}`);
  }
  return json(201, { schedule: await ctx.system.schedules.add(input) });
}

async function requireSchedule(ctx: ApiContext, name: string | undefined): Promise<string> {
  if (name === undefined || (await ctx.system.schedules.get(name)) === null) {
    throw new HttpError(404, 'NOT_FOUND', `schedule "${name ?? ''}" does not exist; GET /api/schedules lists them`);
  }
  return name;
}

/** GET /api/schedules/:name. */
export async function scheduleLoader(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  const name = await requireSchedule(ctx, params.name);
  return json(200, { schedule: await ctx.system.schedules.get(name) });
}

/** PUT /api/schedules/:name (`{"enabled": bool}` alone toggles; otherwise the full definition), DELETE. */
export async function scheduleAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'PUT' && request.method !== 'DELETE') methodNotAllowed(request.method, ['GET', 'PUT', 'DELETE']);
  new Query(new URL(request.url), []);
  const name = await requireSchedule(ctx, params.name);
  if (request.method === 'DELETE') return json(200, { deleted: await ctx.system.schedules.remove(name) });
  const body = objectBody(await readJson(request), SCHEDULE_FIELDS.filter((f) => f !== 'name'));
  const keys = Object.keys(body);
  if (keys.length === 1 && keys[0] === 'enabled') {
    if (typeof body.enabled !== 'boolean') badRequest('enabled', 'must be true or false');
    return json(200, { schedule: body.enabled ? await ctx.system.schedules.enable(name) : await ctx.system.schedules.disable(name) });
  }
  const input = scheduleInput(body, name);
  if (!ctx.enqueueable(input.type)) badRequest('type', `"${input.type}" is not a job type this server accepts`);
  return json(200, { schedule: await ctx.system.schedules.update(input) });
}

/** Who made a request, as a pause or a resume records it: a browser session (by its public id) or the token. */
function actorOf(ctx: ApiContext, request: Request): string {
  const browser = ctx.auth.browserSessionOf(request);
  return browser === null ? 'api (token)' : `dashboard (browser ${browser.id.slice(0, 8)})`;
}

/** GET /api/types: every type with jobs, a definition here, or a control; its counts, its controls and any automatic pause here. */
export async function typesLoader(ctx: ApiContext, { request }: RouteArgs): Promise<Response> {
  new Query(new URL(request.url), []);
  const stats = await ctx.system.stats();
  const names = new Set([
    ...stats.jobs.byType.map((t) => t.type), ...stats.controls.map((c) => c.type),
    ...ctx.system.registry.types().filter((t) => ctx.enqueueable(t)),
  ]);
  const types = [...names].sort().map((type) => ({
    type,
    counts: stats.jobs.byType.find((t) => t.type === type) ?? { type, waiting: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
    control: stats.controls.find((c) => c.type === type) ?? { type, paused: null, resumed: null, rateLimit: null, updatedAt: null },
    autoPaused: stats.worker.pausedTypes.find((p) => p.type === type) ?? null,
  }));
  return json(200, { types });
}

/** POST /api/types/:type/pause: stop claiming a type in every process, with an optional `reason`; who and when are recorded. */
export async function typePauseAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  const body = objectBody((await readJson(request, { required: false })) ?? {}, ['reason']);
  return json(200, { control: await ctx.system.pauseType(params.type ?? '', actorOf(ctx, request), body.reason as string | null | undefined) });
}

/** POST /api/types/:type/resume: run a type again that was paused by hand or after repeated failures. */
export async function typeResumeAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'POST') methodNotAllowed(request.method, ['POST']);
  new Query(new URL(request.url), []);
  const type = params.type ?? '';
  const { resumed, control } = await ctx.system.resumeType(type, actorOf(ctx, request));
  if (!resumed) throw new HttpError(404, 'NOT_FOUND', `job type "${type}" is not paused; GET /api/types says which are`);
  return json(200, { resumed, control });
}

/** PUT /api/types/:type `{ "rateLimit": { "max": 50, "windowMs": 60000 } }` (or null to remove it). */
export async function typeAction(ctx: ApiContext, { request, params }: RouteArgs): Promise<Response> {
  if (request.method !== 'PUT') methodNotAllowed(request.method, ['PUT']);
  new Query(new URL(request.url), []);
  const body = objectBody(await readJson(request), ['rateLimit']);
  if (!('rateLimit' in body)) badRequest('rateLimit', 'give { "max": <starts>, "windowMs": <ms> }, or null to remove the limit');
  return json(200, { control: await ctx.system.setRateLimit(params.type ?? '', body.rateLimit as RateLimit | null) });
}
