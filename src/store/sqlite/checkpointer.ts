/**
 * Background WAL checkpointing.
 *
 * SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, so that commit
 * (an enqueue, a claim) pays for copying pages back into the database file and, with
 * synchronous=NORMAL, for an fsync: a multi-millisecond stall on the event loop every few thousand
 * pages. The checkpointer moves that work to a worker thread with its own connection, running
 * PASSIVE checkpoints (they never block readers or writers) every `intervalMs`, and a TRUNCATE when the
 * WAL has grown past `restartPages` (see below). The main connection
 * keeps a high automatic threshold as a safety net should the thread fall behind, and
 * `journal_size_limit` truncates the WAL file back once a checkpoint has caught up.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  path: string;
  /** Default 100 ms. */
  intervalMs?: number;
  /** WAL frames past which a checkpoint also resets and truncates the WAL (TRUNCATE). Default 8,000 (~32 MB): it briefly holds off writers, so it should be rare; it stays below the main connection's automatic threshold (10,000). */
  restartPages?: number;
  /** Called with a message when a checkpoint fails (the thread keeps trying). */
  onError?: (message: string) => void;
}

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 50 });
let stopping = false;
function checkpoint() {
  if (stopping) return;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    // Under continuous writes a PASSIVE checkpoint never catches up, so the WAL never starts over;
    // and once writes stop, nobody restarts it. Past restartPages, a TRUNCATE copies the few frames
    // left (briefly holding off writers), resets the WAL and cuts the file back to nothing.
    if (r && r.log > workerData.restartPages) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
  timer = setTimeout(checkpoint, workerData.intervalMs);
}
let timer = setTimeout(checkpoint, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'checkpoint') { clearTimeout(timer); checkpoint(); return; }
  stopping = true;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage({ ready: true });
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private stopped: Promise<void> | null = null;
  private exited = false;

  constructor(options: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD, {
      eval: true,
      // The thread runs plain JavaScript: no loader hooks (tsx in development) to start in it.
      execArgv: [],
      workerData: { path: options.path, driver, intervalMs: options.intervalMs ?? 100, restartPages: options.restartPages ?? 8_000 },
    });
    // The thread must never keep a process alive on its own.
    this.worker.unref();
    this.worker.once('exit', () => { this.exited = true; });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('error', reject);
      this.worker.on('message', (m: { ready?: boolean; error?: string }) => {
        if (m.ready === true) resolve();
        if (m.error !== undefined) options.onError?.(m.error);
      });
    });
    this.ready.catch((err: unknown) => { options.onError?.(err instanceof Error ? err.message : String(err)); });
  }

  /** Resolves once the thread has opened its connection. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Ask for a checkpoint now (e.g. after a large batch). */
  nudge(): void {
    this.worker.postMessage('checkpoint');
  }

  /** Close the thread's connection and end the thread. */
  stop(): Promise<void> {
    this.stopped ??= this.exited ? Promise.resolve() : new Promise<void>((resolve) => {
      // Someone is waiting for the thread now: let it hold the process open until it has exited.
      this.worker.ref();
      this.worker.once('exit', () => { resolve(); });
      this.worker.postMessage('stop');
    });
    return this.stopped;
  }
}
