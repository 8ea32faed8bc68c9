import { useState, type SyntheticEvent } from 'react';
import { Form, Link, useLoaderData, useRevalidator, useSearchParams } from 'react-router';
import type { LoaderArgs } from '../api.server';
import { field, formatTime, send, timeAgo } from '../lib/format';
import { useStream, useThrottled } from '../lib/live';
import { parseDataSearch } from '../../src/store/validation';

const STATUSES = ['waiting', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;

export async function loader({ context, request }: LoaderArgs) {
  const { api } = context.agentq;
  const url = new URL(request.url);
  const status = url.searchParams.get('status') ?? '';
  const type = url.searchParams.get('type') ?? '';
  const cursor = url.searchParams.get('cursor');
  // A search: `where` is `<data path>=<value>` (values read as in the API), `error` text the error contains.
  const where = url.searchParams.get('where') ?? '';
  const errorText = url.searchParams.get('error') ?? '';
  const at = where.indexOf('=');
  const data = at > 0 ? parseDataSearch([[where.slice(0, at).trim().replace(/^data\./, ''), where.slice(at + 1).trim()]]) : undefined;
  let searchError: string | null = where !== '' && at <= 0 ? 'search: write <data path>=<value>, e.g. path=a.png' : null;
  const [stats, page, schedules] = await Promise.all([
    api.system.stats(),
    api.system.listJobs({
      limit: 50,
      ...(STATUSES.includes(status as (typeof STATUSES)[number]) ? { status: [status as (typeof STATUSES)[number]] } : {}),
      ...(type === '' ? {} : { type: [type] }),
      ...(cursor === null ? {} : { cursor }),
      ...(data === undefined ? {} : { data }),
      ...(errorText === '' ? {} : { error: errorText }),
    }).catch((e: unknown) => {
      searchError ??= e instanceof Error ? e.message : String(e);
      return { jobs: [], nextCursor: null, total: 0, totalExact: true, searchBounded: false };
    }),
    api.system.schedules.list(),
  ]);
  return {
    status, type, cursor, where, errorText, searchError, searchBounded: page.searchBounded === true,
    counts: stats.jobs.byStatus,
    types: stats.jobs.byType.map((t) => t.type),
    throughput: stats.jobs.throughput,
    lastHour: stats.jobs.lastHour,
    paused: stats.worker.pausedTypes,
    typeRows: [...new Set([...stats.jobs.byType.map((t) => t.type), ...stats.controls.map((c) => c.type)])].sort().map((type) => {
      const counts = stats.jobs.byType.find((t) => t.type === type);
      const control = stats.controls.find((c) => c.type === type);
      return {
        type, waiting: counts?.waiting ?? 0, queued: counts?.queued ?? 0, running: counts?.running ?? 0, failed: counts?.failed ?? 0,
        paused: control?.paused ?? null, rateLimit: control?.rateLimit ?? null,
      };
    }),
    jobs: page.jobs.map((j) => ({ id: j.id, type: j.type, status: j.status, priority: j.priority, attempts: j.attempts, maxAttempts: j.maxAttempts, createdAt: j.createdAt, runAt: j.runAt, error: j.error })),
    nextCursor: page.nextCursor,
    total: page.total,
    totalExact: page.totalExact,
    schedules: schedules.map((s) => ({ name: s.name, type: s.type, cron: s.cron, everyMs: s.everyMs, enabled: s.enabled, nextRunAt: s.nextRunAt })),
    now: Date.now(),
  };
}

export const meta = () => [{ title: 'Jobs · agentq' }];

export default function Jobs() {
  const d = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  const revalidator = useRevalidator();
  const [error, setError] = useState<string | null>(null);
  // Job events reload the page's data, at most twice a second: no polling, no reload.
  const refresh = useThrottled(() => { void revalidator.revalidate(); }, 500);
  const live = useStream('?topics=jobs', () => { refresh(); });
  const act = async (method: string, path: string, body?: unknown): Promise<void> => {
    const r = await send(method, path, body);
    setError(r.ok ? null : r.error);
    refresh();
  };
  const max = Math.max(1, ...d.throughput.map((b) => b.completed + b.failed));
  const maxWait = Math.max(0, ...d.throughput.map((b) => b.meanWaitMs ?? 0));
  const filterLink = (status: string): string => {
    const p = new URLSearchParams(params);
    p.delete('cursor');
    if (status === '') p.delete('status');
    else p.set('status', status);
    return `/jobs?${p.toString()}`;
  };
  return (
    <main>
      <h1>Jobs <span className="muted" style={{ fontSize: '.8rem' }} data-testid="live">{live ? '● live' : '○ connecting'}</span></h1>
      {error !== null && <p role="alert" className="error">{error}</p>}
      <div className="counts" data-testid="counts">
        {STATUSES.map((s) => (
          <Link key={s} to={filterLink(s)} className="count" aria-current={d.status === s ? 'true' : undefined} data-count={s}>
            <span className={`status ${s}`}>{s}</span>
            <b>{d.counts[s].toLocaleString()}</b>
          </Link>
        ))}
      </div>
      <div className="panel">
        <div className="muted" style={{ fontSize: '.85rem', marginBottom: '.4rem' }}>
          Last hour: {d.lastHour.completed} completed, {d.lastHour.failed} failed
        </div>
        <div className="chart" role="img" aria-label={`Jobs finished per minute over the last hour; ${String(d.lastHour.completed)} completed, ${String(d.lastHour.failed)} failed`}>
          {d.throughput.map((b) => (
            <span key={b.minute} title={`${new Date(b.minute).toLocaleTimeString()}: ${String(b.completed)} completed, ${String(b.failed)} failed`} className={b.failed > b.completed ? 'failed' : ''} style={{ height: `${String(((b.completed + b.failed) / max) * 100)}%` }} />
          ))}
        </div>
        <div className="muted" style={{ fontSize: '.85rem', margin: '.6rem 0 .4rem' }}>
          Wait from due to start, mean per minute{maxWait > 0 ? `; longest ${formatMs(maxWait)}` : ''}
        </div>
        <div className="chart wait" role="img" data-testid="wait-chart" aria-label={`Mean wait from due to start per minute over the last hour; longest ${formatMs(maxWait)}`}>
          {d.throughput.map((b) => (
            <span key={b.minute} title={`${new Date(b.minute).toLocaleTimeString()}: ${b.meanWaitMs === null ? 'nothing finished' : `mean wait ${formatMs(b.meanWaitMs)}`}`} style={{ height: `${String(((b.meanWaitMs ?? 0) / Math.max(1, maxWait)) * 100)}%` }} />
          ))}
        </div>
      </div>
      {d.paused.length > 0 && (
        <div className="panel" style={{ marginTop: '1rem' }}>
          <h2 style={{ marginTop: 0 }}>Paused job types</h2>
          {d.paused.map((p) => (
            <p key={p.type}>
              <b>{p.type}</b> paused after {p.failures} failures in a row, until {formatTime(p.until)}.{' '}
              <button type="button" onClick={() => { void act('POST', `/api/types/${encodeURIComponent(p.type)}/resume`); }}>Resume now</button>
            </p>
          ))}
        </div>
      )}
      <TypesTable rows={d.typeRows} act={act} />
      <Form className="filters" method="get" aria-label="Filter jobs">
        <label>Status
          <select name="status" defaultValue={d.status}>
            <option value="">any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Type
          <select name="type" defaultValue={d.type}>
            <option value="">any</option>
            {d.types.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </label>
        <label>Data
          <input name="where" defaultValue={d.where} placeholder="path=a.png" aria-label="Data field equals" style={{ width: '11rem' }} />
        </label>
        <label>Error contains
          <input name="error" defaultValue={d.errorText} style={{ width: '10rem' }} />
        </label>
        <button type="submit">Filter</button>
      </Form>
      {d.searchError !== null && <p role="alert" className="error">{d.searchError}</p>}
      {d.searchBounded && <p className="muted" data-testid="search-bounded">Searched the 10,000 jobs the other filters match first; more may match further on (next page).</p>}
      <EnqueueForm types={d.types} onDone={refresh} onError={setError} />
      <BulkAction status={d.status} type={d.type} total={d.total} exact={d.totalExact} act={act} />
      {d.jobs.length === 0 ? (
        <div className="empty">No jobs{d.status === '' && d.type === '' ? ' yet' : ' match this filter'}.</div>
      ) : (
        <div className="table-wrap">
          <table data-testid="jobs">
            <thead><tr><th>#</th><th>Type</th><th>Status</th><th className="hide-narrow">Priority</th><th>Attempts</th><th className="hide-narrow">Created</th><th /></tr></thead>
            <tbody>
              {d.jobs.map((j) => (
                <tr key={j.id} data-job={j.id} data-status={j.status}>
                  <td><Link to={`/jobs/${String(j.id)}`}>{j.id}</Link></td>
                  <td>{j.type}</td>
                  <td><span className={`status ${j.status}`}>{j.status}</span></td>
                  <td className="hide-narrow">{j.priority}</td>
                  <td>{j.attempts}/{j.maxAttempts}</td>
                  <td className="hide-narrow" title={formatTime(j.createdAt)}>{timeAgo(j.createdAt, d.now)}</td>
                  <td>
                    {(j.status === 'waiting' || j.status === 'queued' || j.status === 'running') && <button type="button" className="danger" onClick={() => { void act('DELETE', `/api/jobs/${String(j.id)}`); }} aria-label={`Cancel job ${String(j.id)}`}>Cancel</button>}
                    {(j.status === 'failed' || j.status === 'cancelled') && <button type="button" onClick={() => { void act('PUT', `/api/jobs/${String(j.id)}`, { action: 'retry' }); }} aria-label={`Retry job ${String(j.id)}`}>Retry</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        <span className="muted">{d.totalExact ? d.total.toLocaleString() : `${d.total.toLocaleString()}+`} jobs</span>
        {d.cursor !== null && <Link to={filterLink(d.status)}>First page</Link>}
        {d.nextCursor !== null && <Link to={`/jobs?${new URLSearchParams({ ...(d.status === '' ? {} : { status: d.status }), ...(d.type === '' ? {} : { type: d.type }), ...(d.where === '' ? {} : { where: d.where }), ...(d.errorText === '' ? {} : { error: d.errorText }), cursor: d.nextCursor }).toString()}`}>Next page →</Link>}
      </div>
      <h2>Schedules</h2>
      {d.schedules.length === 0 ? <div className="empty">No schedules. Create them with POST /api/schedules.</div> : (
        <div className="table-wrap">
          <table data-testid="schedules">
            <thead><tr><th>Name</th><th>Type</th><th>When</th><th>Next run</th><th /></tr></thead>
            <tbody>
              {d.schedules.map((s) => (
                <tr key={s.name} data-schedule={s.name}>
                  <td>{s.name}</td>
                  <td>{s.type}</td>
                  <td>{s.cron ?? `every ${String((s.everyMs ?? 0) / 1000)} s`}</td>
                  <td>{s.enabled ? formatTime(s.nextRunAt) : <span className="muted">disabled</span>}</td>
                  <td><button type="button" onClick={() => { void act('PUT', `/api/schedules/${encodeURIComponent(s.name)}`, { enabled: !s.enabled }); }}>{s.enabled ? 'Disable' : 'Enable'}</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}

interface TypeRow {
  type: string; waiting: number; queued: number; running: number; failed: number;
  paused: { at: number; by: string; reason: string | null } | null;
  rateLimit: { max: number; windowMs: number } | null;
}

/** Every type with jobs or controls: pause and resume it by hand, and set its rate limit (for every process). */
function TypesTable({ rows, act }: { rows: TypeRow[]; act: (method: string, path: string, body?: unknown) => Promise<void> }) {
  const [editing, setEditing] = useState<string | null>(null);
  if (rows.length === 0) return null;
  const path = (type: string, tail = ''): string => `/api/types/${encodeURIComponent(type)}${tail}`;
  const saveLimit = (type: string, e: SyntheticEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setEditing(null);
    void act('PUT', path(type), { rateLimit: { max: Number(field(form, 'max')), windowMs: Math.round(Number(field(form, 'seconds')) * 1_000) } });
  };
  return (
    <section aria-label="Job types" style={{ marginTop: '1rem' }}>
      <h2>Job types</h2>
      <div className="table-wrap">
        <table data-testid="types">
          <thead><tr><th>Type</th><th>Queued</th><th>Running</th><th className="hide-narrow">Failed</th><th>State</th><th>Rate limit</th><th /></tr></thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.type} data-type={t.type}>
                <td>{t.type}</td>
                <td>{t.queued}{t.waiting > 0 && <span className="muted"> (+{t.waiting} waiting)</span>}</td>
                <td>{t.running}</td>
                <td className="hide-narrow">{t.failed}</td>
                <td data-testid="type-state">{t.paused === null ? 'running' : <span title={t.paused.reason ?? ''}>paused by {t.paused.by}, {timeAgo(t.paused.at)}{t.paused.reason === null ? '' : `: ${t.paused.reason}`}</span>}</td>
                <td data-testid="type-limit">
                  {editing === t.type ? (
                    <form className="inline" onSubmit={(e) => { saveLimit(t.type, e); }} aria-label={`Rate limit of ${t.type}`}>
                      <input name="max" type="number" min={1} required defaultValue={t.rateLimit?.max ?? 60} aria-label="Starts" style={{ width: '5rem' }} /> per{' '}
                      <input name="seconds" type="number" min={0.001} step="any" required defaultValue={(t.rateLimit?.windowMs ?? 60_000) / 1_000} aria-label="Seconds" style={{ width: '5rem' }} /> s{' '}
                      <button type="submit">Save</button>
                    </form>
                  ) : t.rateLimit === null ? <span className="muted">none</span> : `${String(t.rateLimit.max)} per ${String(t.rateLimit.windowMs / 1_000)} s`}
                </td>
                <td className="actions">
                  {t.paused === null
                    ? <button type="button" onClick={() => { void act('POST', path(t.type, '/pause')); }} aria-label={`Pause ${t.type}`}>Pause</button>
                    : <button type="button" onClick={() => { void act('POST', path(t.type, '/resume')); }} aria-label={`Resume ${t.type}`}>Resume</button>}
                  {editing !== t.type && <button type="button" onClick={() => { setEditing(t.type); }} aria-label={`Set the rate limit of ${t.type}`}>Limit…</button>}
                  {t.rateLimit !== null && <button type="button" onClick={() => { void act('PUT', path(t.type), { rateLimit: null }); }} aria-label={`Remove the rate limit of ${t.type}`}>No limit</button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/**
 * Retry (failed, cancelled) or cancel (waiting, queued, running) every job the filter shows, after
 * saying how many and asking once more.
 */
function BulkAction({ status, type, total, exact, act }: { status: string; type: string; total: number; exact: boolean; act: (method: string, path: string, body?: unknown) => Promise<void> }) {
  const [asking, setAsking] = useState(false);
  const retry = status === 'failed' || status === 'cancelled';
  const cancel = status === 'waiting' || status === 'queued' || status === 'running';
  if ((!retry && !cancel) || total === 0) return null;
  const count = exact ? total.toLocaleString() : `${total.toLocaleString()}+`;
  const what = `${count} ${status}${type === '' ? '' : ` ${type}`} ${total === 1 ? 'job' : 'jobs'}`;
  const filter = { status: [status], ...(type === '' ? {} : { type: [type] }) };
  const go = (): void => {
    setAsking(false);
    void (retry ? act('PUT', '/api/jobs', { action: 'retry', filter }) : act('DELETE', '/api/jobs', { filter }));
  };
  if (!asking) return <p><button type="button" onClick={() => { setAsking(true); }}>{retry ? 'Retry' : 'Cancel'} all {what}…</button></p>;
  return (
    <div className="panel" role="alertdialog" aria-label={`${retry ? 'Retry' : 'Cancel'} ${what}`} style={{ margin: '.5rem 0' }}>
      <p style={{ marginTop: 0 }}>{retry ? `Retry ${what}? They run again with fresh attempts${exact ? '' : ' (10,000 at a time)'}.` : `Cancel ${what}? Waiting and queued ones end now; running ones are asked to stop.`}</p>
      <button type="button" className={retry ? 'primary' : 'danger'} onClick={go}>{retry ? 'Retry' : 'Cancel'} {count}</button>{' '}
      <button type="button" onClick={() => { setAsking(false); }}>Keep them</button>
    </div>
  );
}

/** A duration for a chart label: ms below a second, then seconds, then minutes. */
function formatMs(ms: number): string {
  if (ms < 1_000) return `${String(Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

function EnqueueForm({ types, onDone, onError }: { types: string[]; onDone: () => void; onError: (e: string | null) => void }) {
  const [open, setOpen] = useState(false);
  const submit = async (e: SyntheticEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    let data: unknown = null;
    const raw = field(form, 'data').trim();
    if (raw !== '') {
      try {
        data = JSON.parse(raw);
      } catch {
        onError('data: not valid JSON');
        return;
      }
    }
    const r = await send('POST', '/api/jobs', { type: field(form, 'type'), data, priority: Number(field(form, 'priority') || 0) });
    onError(r.ok ? null : r.error);
    if (r.ok) setOpen(false);
    onDone();
  };
  if (!open) return <p><button type="button" onClick={() => { setOpen(true); }}>New job…</button></p>;
  return (
    <form className="panel filters" onSubmit={(e) => { void submit(e); }} aria-label="Enqueue a job">
      <label>Type<input name="type" list="job-types" required defaultValue="demo.sleep" /></label>
      <datalist id="job-types">{types.map((t) => <option key={t} value={t} />)}</datalist>
      <label>Data (JSON)<input name="data" defaultValue='{"ms": 3000}' /></label>
      <label>Priority<input name="priority" type="number" defaultValue={0} style={{ width: '6rem' }} /></label>
      <button className="primary" type="submit">Enqueue</button>
      <button type="button" onClick={() => { setOpen(false); }}>Close</button>
    </form>
  );
}
