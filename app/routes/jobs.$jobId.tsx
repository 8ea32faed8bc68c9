import { useState } from 'react';
import { Link, data, useLoaderData, useRevalidator } from 'react-router';
import type { LoaderArgs } from '../api.server';
import { formatTime, send } from '../lib/format';
import { useStream, useThrottled } from '../lib/live';

export async function loader({ context, params }: LoaderArgs) {
  const { api } = context.agentq;
  const id = Number(params.jobId);
  const job = Number.isSafeInteger(id) && id > 0 ? await api.system.getJob(id) : null;
  if (job === null) throw data('This job does not exist (it may have been cleaned up).', { status: 404 });
  const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v, null, 2));
  const [attempts, dependencies] = await Promise.all([api.system.jobAttempts(id), api.system.jobDependencies(id, DEPENDENCIES_SHOWN)]);
  const brief = (d: { id: number; type: string; status: string; error: string | null }) => ({ id: d.id, type: d.type, status: d.status, error: d.error });
  return {
    job, dataJson: json(job.data) ?? 'null', resultJson: json(job.result), progress: progressOf(job.progress), progressJson: json(job.progress), attempts,
    dependsOn: dependencies.dependsOn.slice(0, DEPENDENCIES_SHOWN).map(brief), dependsOnTotal: dependencies.dependsOn.length,
    dependents: dependencies.dependents.map(brief), dependentsTotal: dependencies.dependentsTotal,
  };
}

/** Jobs listed per side of a job's dependencies. */
const DEPENDENCIES_SHOWN = 200;

function DependencyList({ label, jobs, total }: { label: string; jobs: { id: number; type: string; status: string; error: string | null }[]; total: number }) {
  if (total === 0) return null;
  return (
    <section aria-label={label}>
      <h2>{label} <span className="muted">({total})</span></h2>
      <div className="table-wrap">
        <table>
          <thead><tr><th>Job</th><th>Type</th><th>Status</th><th>Error</th></tr></thead>
          <tbody>
            {jobs.map((d) => (
              <tr key={d.id}>
                <td><Link to={`/jobs/${String(d.id)}`}>{d.id}</Link></td><td>{d.type}</td>
                <td><span className={`status ${d.status}`}>{d.status}</span></td><td className="wide">{d.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {total > jobs.length && <p className="muted">and {total - jobs.length} more</p>}
    </section>
  );
}

export const meta = ({ data: d }: { data?: { job: { id: number; type: string } } }) => [{ title: `Job ${String(d?.job.id ?? '')} · agentq` }];

function progressOf(progress: unknown): { value: number; max: number } | null {
  if (typeof progress === 'number') return { value: progress, max: 100 };
  const p = progress as { done?: unknown; total?: unknown } | null;
  if (typeof p?.done === 'number' && typeof p.total === 'number' && p.total > 0) return { value: p.done, max: p.total };
  return null;
}

export default function JobPage() {
  const { job, attempts, dataJson, resultJson, progress, progressJson, dependsOn, dependsOnTotal, dependents, dependentsTotal } = useLoaderData<typeof loader>();
  const revalidator = useRevalidator();
  const [error, setError] = useState<string | null>(null);
  const refresh = useThrottled(() => { void revalidator.revalidate(); }, 250);
  useStream('?topics=jobs', (_event, payload) => {
    const p = payload as { jobId?: number; job?: { id: number } };
    if (p.jobId === job.id || p.job?.id === job.id) refresh();
  });
  const act = async (method: string, body?: unknown): Promise<void> => {
    const r = await send(method, `/api/jobs/${String(job.id)}`, body);
    setError(r.ok ? null : r.error);
    refresh();
  };
  return (
    <main>
      <p><Link to="/jobs">← Jobs</Link></p>
      <div className="session-head">
        <h1>Job {job.id} · {job.type}</h1>
        <span className={`status ${job.status}`} data-testid="status">{job.status}</span>
        <div className="actions">
          {(job.status === 'waiting' || job.status === 'queued' || job.status === 'running') && <button type="button" className="danger" onClick={() => { void act('DELETE'); }}>Cancel</button>}
          {(job.status === 'failed' || job.status === 'cancelled') && <button type="button" onClick={() => { void act('PUT', { action: 'retry' }); }}>Retry</button>}
        </div>
      </div>
      {error !== null && <p role="alert" className="error">{error}</p>}
      {job.status === 'waiting' && (
        <div className="panel" style={{ marginBottom: '1rem' }} data-testid="waiting">
          Waiting for {job.pendingDependencies} of {dependsOnTotal} {dependsOnTotal === 1 ? 'job' : 'jobs'} to complete; if one fails for good or is cancelled, this job {job.onDependencyFailure === 'run' ? 'runs anyway' : job.onDependencyFailure === 'cancel' ? 'is cancelled' : 'fails'}.
        </div>
      )}
      {job.status === 'running' && (
        <div className="panel" style={{ marginBottom: '1rem' }}>
          {progress === null ? <span className="muted">Running{progressJson === null ? '' : `: ${progressJson}`}</span> : <progress value={progress.value} max={progress.max} aria-label="Progress" />}
        </div>
      )}
      <div className="panel">
        <dl className="kv">
          <dt>Priority</dt><dd>{job.priority}</dd>
          <dt>Attempts</dt><dd>{job.attempts} of {job.maxAttempts}</dd>
          <dt>Run at</dt><dd>{formatTime(job.runAt)}</dd>
          <dt>Created</dt><dd>{formatTime(job.createdAt)}</dd>
          <dt>Started</dt><dd>{formatTime(job.startedAt)}</dd>
          <dt>Finished</dt><dd>{formatTime(job.finishedAt)}</dd>
          {job.groupKey !== null && <><dt>Group</dt><dd>{job.groupKey}</dd></>}
          {job.uniqueKey !== null && <><dt>Unique key</dt><dd>{job.uniqueKey}</dd></>}
        </dl>
      </div>
      <DependencyList label="Runs after" jobs={dependsOn} total={dependsOnTotal} />
      <DependencyList label="Runs before" jobs={dependents} total={dependentsTotal} />
      <h2>Data</h2>
      <pre className="panel">{dataJson}</pre>
      {job.error !== null && <><h2>Error</h2><pre className="panel error">{job.error}</pre></>}
      {resultJson !== null && <><h2>Result</h2><pre className="panel">{resultJson}</pre></>}
      <h2>Attempts</h2>
      {attempts.length === 0 ? <div className="empty">Not started yet.</div> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th>#</th><th>Worker</th><th>Started</th><th>Finished</th><th>Outcome</th><th>Error</th></tr></thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={`${String(a.attempt)}-${String(a.leaseToken)}`}>
                  <td>{a.attempt}</td><td>{a.workerId}</td><td>{formatTime(a.startedAt)}</td><td>{formatTime(a.finishedAt)}</td>
                  <td><span className={`status ${a.outcome}`}>{a.outcome}</span></td><td className="wide">{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
