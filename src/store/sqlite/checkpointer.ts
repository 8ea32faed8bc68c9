/**
 * Background WAL checkpointing, so that the event loop never waits for the disk.
 *
 * In WAL mode with synchronous=NORMAL a commit does not sync; what does is (1) a checkpoint (the WAL
 * before copying pages back, the database file after) and (2) the first commit after the WAL starts
 * over, which syncs the WAL's new header. Left to SQLite, both happen on the main thread inside
 * whichever commit comes along: on a disk whose fsync takes 10 ms, a stall of 10–60 ms every second
 * or so (measured: docs/benchmarks.md, "sessions"). The checkpointer moves both to a worker thread
 * with its own connection:
 *
 * - Every `intervalMs`, if another connection has committed since it last looked (`data_version`),
 *   it runs a PASSIVE checkpoint, which never blocks readers or writers.
 * - When that checkpoint has copied everything (the WAL may start over) or the WAL has grown past
 *   `restartPages`, it asks the main thread to hold its writes (`writesPaused`: the store's writes
 *   wait on it, asynchronously, while the event loop runs on), copies the last frames, and makes the
 *   first commit of the new WAL itself — a rewrite of the header's application id with its own value,
 *   one page — so the header's sync happens here. Then the writes go on.
 *
 * The main connection keeps SQLite's automatic checkpoint at a high threshold as a safety net should
 * the thread fall behind, and `journal_size_limit` cuts the WAL file back when the WAL starts over.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  path: string;
  /** Default 100 ms. */
  intervalMs?: number;
  /** WAL frames past which the WAL starts over even though writes keep coming (they wait while it does). Default 8,000 (~32 MB), below the main connection's automatic threshold (10,000). */
  restartPages?: number;
  /** Bytes the WAL file is cut back to when it starts over. Default 32 MiB. */
  walSizeLimit?: number;
  /** Called with a message when a checkpoint fails (the thread keeps trying). */
  onError?: (message: string) => void;
}

const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 50 });
db.pragma('journal_size_limit = ' + workerData.walSizeLimit);
// The smallest write there is: the header's application id, rewritten with its own value.
const startWal = db.transaction(() => { db.pragma('application_id = ' + Number(db.pragma('application_id', { simple: true }))); });
let stopping = false;
let timer = null;
let waiting = false;
// data_version after this thread's last own commit: unchanged means nobody else has written since.
let quiet = null;
function report(err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
function schedule() { timer = setTimeout(checkpoint, workerData.intervalMs); }
function checkpoint() {
  timer = null;
  if (stopping || waiting) return;
  try {
    if (db.pragma('data_version', { simple: true }) !== quiet) {
      const [r] = db.pragma('wal_checkpoint(PASSIVE)');
      if (r.log > 0 && (r.checkpointed === r.log || r.log > workerData.restartPages)) {
        // The WAL can start over: have the main thread hold its writes, then do it here (restart()).
        waiting = true;
        parentPort.postMessage({ pause: true });
        return;
      }
    }
  } catch (err) {
    report(err);
  }
  schedule();
}
function restart() {
  waiting = false;
  let restarted = false;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r.busy === 0 && r.checkpointed === r.log) {
      startWal.immediate();
      quiet = db.pragma('data_version', { simple: true });
      restarted = true;
    }
  } catch (err) {
    report(err);
  }
  parentPort.postMessage({ resume: true, restarted });
  if (!stopping) schedule();
}
parentPort.on('message', (m) => {
  if (m === 'paused') { restart(); return; }
  if (m === 'checkpoint') {
    if (timer !== null) { clearTimeout(timer); checkpoint(); }
    return;
  }
  stopping = true;
  if (timer !== null) clearTimeout(timer);
  db.close();
  parentPort.close();
});
schedule();
parentPort.postMessage({ ready: true });
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private stopped: Promise<void> | null = null;
  private exited = false;
  private paused: { promise: Promise<void>; resolve: () => void } | null = null;
  private restartCount = 0;

  constructor(options: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD, {
      eval: true,
      // The thread runs plain JavaScript: no loader hooks (tsx in development) to start in it.
      execArgv: [],
      workerData: {
        path: options.path, driver, intervalMs: options.intervalMs ?? 100, restartPages: options.restartPages ?? 8_000, walSizeLimit: options.walSizeLimit ?? 32 * 1024 * 1024,
      },
    });
    // The thread must never keep a process alive on its own.
    this.worker.unref();
    this.worker.once('exit', () => {
      this.exited = true;
      this.resumeWrites();
    });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('error', (err) => {
        this.resumeWrites();
        reject(err);
      });
      this.worker.on('message', (m: { ready?: boolean; error?: string; pause?: boolean; resume?: boolean; restarted?: boolean }) => {
        if (m.ready === true) resolve();
        if (m.error !== undefined) options.onError?.(m.error);
        if (m.pause === true) {
          // No write transaction is open here (they are synchronous): from now on, writes wait.
          if (this.paused === null) {
            let resolvePause!: () => void;
            const promise = new Promise<void>((r) => { resolvePause = r; });
            this.paused = { promise, resolve: resolvePause };
          }
          this.worker.postMessage('paused');
        }
        if (m.restarted === true) this.restartCount += 1;
        if (m.resume === true) this.resumeWrites();
      });
    });
    this.ready.catch((err: unknown) => { options.onError?.(err instanceof Error ? err.message : String(err)); });
  }

  /** Resolves once the thread has opened its connection. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /**
   * Non-null while the thread starts the WAL over: writes of this process wait for it to resolve
   * (a few milliseconds, the length of a sync) rather than block the event loop in SQLite's busy wait.
   */
  get writesPaused(): Promise<void> | null {
    return this.paused?.promise ?? null;
  }

  /** How many times the thread has started the WAL over. */
  get restarts(): number {
    return this.restartCount;
  }

  private resumeWrites(): void {
    const paused = this.paused;
    this.paused = null;
    paused?.resolve();
  }

  /** Ask for a checkpoint now (e.g. after a large batch). */
  nudge(): void {
    this.worker.postMessage('checkpoint');
  }

  /** Close the thread's connection and end the thread (writes held for it go on). */
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
