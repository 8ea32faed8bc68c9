/**
 * Two harmless job types the server registers by default, so the queue can be tried from the
 * dashboard or with curl: `demo.echo` returns its data; `demo.sleep` waits `ms` milliseconds in
 * `steps` steps, reporting progress, and honours cancellation.
 */
import { defineJob } from '../queue/registry.js';

export const echoJob = defineJob({
  type: 'demo.echo',
  run: (data: unknown) => Promise.resolve(data),
});

export const sleepJob = defineJob({
  type: 'demo.sleep',
  validate: (data: unknown): { ms: number; steps: number } => {
    const d = (data ?? {}) as { ms?: unknown; steps?: unknown };
    const ms = d.ms ?? 1_000;
    const steps = d.steps ?? 10;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 3_600_000) throw new Error('ms must be a whole number of milliseconds up to 3,600,000');
    if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1 || steps > 1_000) throw new Error('steps must be a whole number from 1 to 1,000');
    return { ms, steps };
  },
  run: async ({ ms, steps }, ctx) => {
    for (let i = 1; i <= steps; i++) {
      if (ctx.signal.aborted) throw ctx.signal.reason as Error;
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(ctx.signal.reason as Error);
        };
        const timer = setTimeout(() => {
          ctx.signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms / steps);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
      ctx.progress({ done: i, total: steps });
    }
    return { sleptMs: ms };
  },
});

export const DEMO_JOBS = [echoJob, sleepJob] as const;
