/**
 * The in-process execution pool: better-queue 3.8.12 with its memory store, its own retries off and
 * one task id per attempt. It owns no job state; it bounds how many handlers run at once and keeps
 * pool statistics.
 *
 * Two adjustments keep the pool from being the bottleneck (measured: ~750 tasks/s at concurrency 1
 * when fed one push per finished task):
 * - `push` defers every task by a `setTimeout(0)` (>= 1 ms in Node) before queueing it. The pool
 *   queues through better-queue's own `_queueTask` instead, which is what that timer calls. The
 *   version is pinned exactly; `test/queue/pool.test.ts` fails if the internal goes away.
 * - The memory store hands tasks on one per `setImmediate`; a microtask does the same hand-off
 *   without waiting for an event-loop turn. Bounded: the worker never holds more than
 *   concurrency + prefetch tasks in the pool.
 */
import Queue from 'better-queue';

export interface PoolTask {
  id: string;
  jobId: number;
  token: number;
}

export interface PoolStats {
  total: number;
  average: number;
  successRate: number;
  peak: number;
}

interface QueueInternals {
  _queueTask?: (taskId: string, task: PoolTask) => void;
}

export class Pool {
  private readonly queue: Queue<PoolTask>;
  /** True when tasks are queued without better-queue's push timer. */
  readonly direct: boolean;

  constructor(concurrency: number, process: (task: PoolTask, done: () => void) => void) {
    this.queue = new Queue<PoolTask>(
      (task: PoolTask, cb: () => void) => { process(task, cb); },
      {
        concurrent: concurrency,
        maxRetries: 0,
        id: 'id',
        setImmediate: queueMicrotask,
      } as Partial<Queue.QueueOptions<PoolTask, unknown>>,
    );
    this.direct = typeof (this.queue as unknown as QueueInternals)._queueTask === 'function';
  }

  push(task: PoolTask): void {
    const internals = this.queue as unknown as QueueInternals;
    if (this.direct) internals._queueTask?.call(this.queue, task.id, task);
    else this.queue.push(task);
  }

  stats(): PoolStats {
    return this.queue.getStats();
  }

  destroy(): void {
    this.queue.destroy(() => undefined);
  }
}
