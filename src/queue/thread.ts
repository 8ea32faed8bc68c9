/**
 * Handlers in their own thread, for work that must not be able to take the worker down with it:
 * `run: inThread(new URL('./resize.js', import.meta.url), { memoryMb: 256 })`.
 *
 * Contract:
 * - The module's default export (or its `run` export) is called as `run(data, ctx)` in a worker
 *   thread; `ctx` has `jobId`, `attempt`, `signal` (aborted when the job is cancelled, times out or
 *   the worker stops) and `progress(value)`. Data and result cross the thread boundary by
 *   structured clone.
 * - A handler that allocates past `memoryMb` (old generation) ends its thread only: the job fails at
 *   once, with an UnrecoverableError naming the limit (retrying would hit it again).
 * - Abort terminates the thread: a handler that ignores its signal cannot hold a slot.
 * - A thread that exits without a result fails the attempt (retried as usual).
 */
import { Worker } from 'node:worker_threads';
import { UnrecoverableError } from '../store/errors.js';
import type { JobContext } from './registry.js';

export interface ThreadOptions {
  /** Heap limit of the handler's thread in MB (old generation). Default: Node's own limit. */
  memoryMb?: number;
}

const BOOT = `
const { parentPort, workerData } = require('node:worker_threads');
const controller = new AbortController();
parentPort.on('message', (m) => { if (m === 'abort') controller.abort(); });
import(workerData.module).then(async (m) => {
  const run = typeof m.default === 'function' ? m.default : m.run;
  if (typeof run !== 'function') throw new Error(workerData.module + ' exports no handler: export default function run(data, ctx)');
  const ctx = { jobId: workerData.jobId, attempt: workerData.attempt, signal: controller.signal, progress: (value) => parentPort.postMessage({ progress: value }) };
  parentPort.postMessage({ result: await run(workerData.data, ctx) });
}).catch((e) => {
  parentPort.postMessage({ error: { name: (e && e.name) || 'Error', message: String((e && e.message) || e) } });
});
`;

type Message = { progress: unknown } | { result: unknown } | { error: { name: string; message: string } };

// TData types the handler's data for defineJob (and so for enqueue), though the module is untyped.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function inThread<TData = unknown, TResult = unknown>(module: string | URL, options: ThreadOptions = {}): (data: TData, ctx: JobContext) => Promise<TResult> {
  const href = module instanceof URL ? module.href : module;
  const memoryMb = options.memoryMb;
  return (data, ctx) => new Promise<TResult>((resolve, reject) => {
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: { module: href, data, jobId: ctx.jobId, attempt: ctx.attempt },
      ...(memoryMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.min(16, memoryMb) } }),
    });
    let settled = false;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      settle();
    };
    const onAbort = (): void => { finish(() => { reject(ctx.signal.reason as Error); }); };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: Message) => {
      if ('progress' in m) ctx.progress(m.progress);
      else if ('result' in m) finish(() => { resolve(m.result as TResult); });
      else finish(() => { reject(Object.assign(new Error(m.error.message), { name: m.error.name })); });
    });
    worker.on('error', (error: Error & { code?: string }) => {
      finish(() => {
        reject(error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new UnrecoverableError(`the handler ran out of its ${String(memoryMb)} MB memory limit; give it more (inThread memoryMb) or make it use less`)
          : error);
      });
    });
    worker.on('exit', (code) => { finish(() => { reject(new Error(`the handler's thread exited (code ${String(code)}) without a result`)); }); });
  });
}
