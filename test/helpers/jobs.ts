/**
 * Test helpers in the style of graphile-worker's: wait on events, never on timers.
 */
import { expect } from 'vitest';
import type { JobEventMap, JobEvents } from '../../src/queue/events.js';
import { defineJob, type AnyJobDefinition } from '../../src/queue/registry.js';
import type { Job, JobStore } from '../../src/store/contract.js';
import type { JobState } from '../../src/store/states.js';

const JOB_EVENTS: (keyof JobEventMap)[] = [
  'job:enqueued', 'job:started', 'job:completed', 'job:failed', 'job:retrying', 'job:snoozed', 'job:cancelled',
  'job:released', 'job:lost', 'job:stuck', 'job:rescued', 'job:progress',
];

/** Resolve with the first `name` event whose payload satisfies `predicate`. */
export function waitForEvent<K extends keyof JobEventMap>(
  events: JobEvents, name: K, predicate: (payload: JobEventMap[K]) => boolean = () => true,
): Promise<JobEventMap[K]> {
  return new Promise((resolve) => {
    const off = events.on(name, (payload) => {
      if (predicate(payload)) {
        off();
        resolve(payload);
      }
    });
  });
}

/** Resolve with the job once it satisfies `want` (a state, a list of states, or a predicate), re-checking after every job event. */
export function waitForJob(
  store: JobStore, events: JobEvents, id: number, want: JobState | JobState[] | ((job: Job) => boolean),
): Promise<Job> {
  const ok = typeof want === 'function' ? want : (job: Job) => (Array.isArray(want) ? want : [want]).includes(job.status);
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    // Serialise checks; an event during a check asks for one more.
    const state = { checking: false, again: false };
    const anotherCheckWanted = (): boolean => state.again;
    const check = async (): Promise<void> => {
      if (state.checking) {
        state.again = true;
        return;
      }
      state.checking = true;
      for (;;) {
        state.again = false;
        const job = await store.jobGet({ id });
        if (job !== null && ok(job)) {
          for (const off of offs) off();
          resolve(job);
          return;
        }
        if (!anotherCheckWanted()) break;
      }
      state.checking = false;
    };
    for (const name of JOB_EVENTS) offs.push(events.on(name, () => { check().catch(reject); }));
    check().catch(reject);
  });
}

/** Assert how many jobs are in a state, from the store's own counters. */
export async function expectJobCount(store: JobStore, status: JobState, count: number): Promise<void> {
  const stats = await store.jobStats({ now: Date.now() });
  expect(stats.byStatus[status]).toBe(count);
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolve when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => { resolve(signal.reason); }, { once: true });
  });
}

/** A job type whose handler resolves `started`, then waits for its signal and throws its reason. */
export function abortWaiter(type: string, started: Deferred<void>): AnyJobDefinition {
  return defineJob({
    type,
    run: async (_data: unknown, ctx) => {
      started.resolve();
      throw await aborted(ctx.signal);
    },
  });
}
