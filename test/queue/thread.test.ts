import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/queue/registry.js';
import { inThread } from '../../src/queue/thread.js';
import { createJobSystem } from '../../src/system/job-system.js';
import { waitForEvent, waitForJob } from '../helpers/jobs.js';
import { ROOT } from '../helpers/processes.js';
import { useSystems } from '../helpers/systems.js';

const env = useSystems();
const fixture = (name: string): URL => new URL(`file://${join(ROOT, 'test', 'fixtures', 'threads', `${name}.mjs`)}`);

function system(defs: ReturnType<typeof defineJob>[]) {
  return env.track(createJobSystem({ database: join(env.dir, 't.db'), jobs: defs, maintenance: false, worker: { abortGraceMs: 200 } }));
}

describe('inThread', () => {
  it('runs the module in a thread: data in, progress and result out', async () => {
    const s = system([defineJob({ type: 't.echo', run: inThread(fixture('echo')) }), defineJob({ type: 't.named', run: inThread(fixture('named').href) })]);
    s.start();
    const progress = waitForEvent(s.events, 'job:progress');
    const { job } = await s.enqueueAny('t.echo', { hello: 'thread' });
    expect((await progress).progress).toEqual({ done: 1, total: 2 });
    expect((await waitForJob(s.store, s.events, job.id, 'completed')).result).toEqual({ got: { hello: 'thread' }, jobId: job.id, attempt: 1 });
    const named = await s.enqueueAny('t.named', 21);
    expect((await waitForJob(s.store, s.events, named.job.id, 'completed')).result).toBe(42);
  });

  it('fails a handler that runs past its memory limit at once, and the worker keeps going', async () => {
    const s = system([
      defineJob({ type: 't.hog', retry: { maxAttempts: 3 }, run: inThread(fixture('hog'), { memoryMb: 32 }) }),
      defineJob({ type: 't.echo', run: inThread(fixture('echo')) }),
    ]);
    s.start();
    const hog = await s.enqueueAny('t.hog', null);
    const failed = await waitForJob(s.store, s.events, hog.job.id, 'failed');
    expect(failed.attempts).toBe(1);
    expect(failed.error).toMatch(/ran out of its 32 MB memory limit/);
    const after = await s.enqueueAny('t.echo', 1);
    expect((await waitForJob(s.store, s.events, after.job.id, 'completed')).status).toBe('completed');
  }, 30_000);

  it('terminates a handler that ignores its abort, so it holds no slot', async () => {
    const s = system([defineJob({ type: 't.deaf', timeoutMs: 200, retry: { maxAttempts: 1 }, run: inThread(fixture('deaf')) })]);
    let stuck = 0;
    s.events.on('job:stuck', () => { stuck += 1; });
    s.start();
    const { job } = await s.enqueueAny('t.deaf', null);
    expect((await waitForJob(s.store, s.events, job.id, 'failed')).error).toMatch(/timed out|timeout/i);
    expect(stuck).toBe(0);
    expect(s.worker.stats().running).toBe(0);
  });

  it('reports a thrown non-Error, a module without a handler, and a thread that exits', async () => {
    const s = system([
      defineJob({ type: 't.throws', retry: { maxAttempts: 1 }, run: inThread(fixture('throws')) }),
      defineJob({ type: 't.none', retry: { maxAttempts: 1 }, run: inThread(fixture('none')) }),
      defineJob({ type: 't.exits', retry: { maxAttempts: 1 }, run: inThread(fixture('exits')) }),
    ]);
    s.start();
    const a = await s.enqueueAny('t.throws', null);
    const b = await s.enqueueAny('t.none', null);
    const c = await s.enqueueAny('t.exits', null);
    expect((await waitForJob(s.store, s.events, a.job.id, 'failed')).error).toMatch(/a bare string/);
    expect((await waitForJob(s.store, s.events, b.job.id, 'failed')).error).toMatch(/exports no handler/);
    expect((await waitForJob(s.store, s.events, c.job.id, 'failed')).error).toMatch(/thread exited \(code 3\) without a result/);
  });
});
