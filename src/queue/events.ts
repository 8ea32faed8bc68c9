/**
 * The typed event map of the queue, and a small typed emitter over Node's EventEmitter.
 * Every event name is `noun:verb`; every payload is a plain object that survives JSON.
 */
import { EventEmitter } from 'node:events';
import type { Job } from '../store/contract.js';
import type { JOB_EVENT_NAMES } from './event-names.js';

export interface JobEventMap {
  /** A job was created (not emitted when a unique key returned an existing job). */
  'job:enqueued': { job: Job };
  /** A batch created jobs (`enqueueMany`, `enqueueFlow`): how many of each type. */
  'jobs:enqueued': { byType: Record<string, number> };
  /** A handler started an attempt; `waitMs`: from the time it was due to its claim. */
  'job:started': { jobId: number; type: string; attempt: number; workerId: string; waitMs: number };
  'job:progress': { jobId: number; type: string; progress: unknown };
  'job:completed': { jobId: number; type: string; result: unknown; durationMs: number };
  /** The job failed for good (attempts spent, unrecoverable, or orphaned under the `fail` policy). */
  'job:failed': { jobId: number; type: string; error: string; attempt: number };
  /** An attempt failed and the job was queued again for `runAt`. */
  'job:retrying': { jobId: number; type: string; error: string; attempt: number; runAt: number };
  'job:snoozed': { jobId: number; type: string; runAt: number };
  'job:cancelled': { jobId: number; type: string };
  /** A running job was handed back to the queue (shutdown) without spending an attempt. */
  'job:released': { jobId: number; type: string };
  /** The worker lost a job's lease (another worker took it over); its result will be ignored. */
  'job:lost': { jobId: number; type: string };
  /** A handler ignored its abort signal past the grace period; its slot stays occupied until it returns. */
  'job:stuck': { jobId: number; type: string; reason: string };
  /** The rescuer found jobs whose worker vanished. */
  'job:rescued': { retried: number[]; failed: number[]; cancelled: number[] };
  /** A handler wrote to its log. */
  'job:log': { jobId: number; type: string; level: 'info' | 'warn' | 'error'; message: string };
  /** A type failed too often in a row and is paused until `until`. */
  'type:paused': { type: string; until: number; failures: number };
  'type:resumed': { type: string };
  /** A schedule's tick created a job (in this process; other processes may fire other ticks). */
  'schedule:fired': { name: string; due: number; jobId: number };
  /** The worker could not reach the store (e.g. disk full); it keeps trying. */
  'worker:error': { error: string; code: string };
}

export type JobEventName = keyof JobEventMap;

/** JOB_EVENT_NAMES lists every job:* event of the map and nothing else; the build fails otherwise (this type is then never). */
export type JobEventNamesComplete = [Exclude<Extract<keyof JobEventMap, `job:${string}`>, (typeof JOB_EVENT_NAMES)[number]>, Exclude<(typeof JOB_EVENT_NAMES)[number], keyof JobEventMap>] extends [never, never] ? true : never;
export const JOB_EVENT_NAMES_COMPLETE: JobEventNamesComplete = true;

/** An EventEmitter whose `on`/`emit` are checked against an event map. */
export class TypedEmitter<M extends { [K in keyof M]: object }> {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many SSE clients and tests may listen at once; this is not a leak.
    this.emitter.setMaxListeners(0);
  }

  on<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => {
      this.emitter.off(event, listener);
    };
  }

  once<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void): () => void {
    this.emitter.once(event, listener);
    return () => {
      this.emitter.off(event, listener);
    };
  }

  emit<K extends keyof M & string>(event: K, payload: M[K]): void {
    this.emitter.emit(event, payload);
  }

  listenerCount(event: keyof M & string): number {
    return this.emitter.listenerCount(event);
  }
}

export class JobEvents extends TypedEmitter<JobEventMap> {}
