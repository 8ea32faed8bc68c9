/**
 * The worker's completer: outcomes of attempts, written in batches.
 *
 * Contract:
 * - Every outcome added within one event-loop turn is written in one `jobFinish` call, after the
 *   turn's callbacks; while a batch is being written the next one gathers.
 * - A failed write loses nothing: the batch goes back to the front and is tried again after a
 *   backoff (50 ms doubling to 5 s, reset by a success); `onError` reports each failure.
 * - `onWritten` gets each item with the store's answer, in the order added; `onDrained` is called
 *   once a write left nothing pending.
 */
import type { JobFinishResult, JobOutcome, JobStore } from '../store/contract.js';

export interface CompleterOptions<T> {
  store: JobStore;
  clock: () => number;
  /** A batch is about to be written (the worker looks for its next job meanwhile). */
  onBatch: () => void;
  onWritten: (item: T, result: JobFinishResult) => void;
  onDrained: () => void;
  onError: (err: unknown, retryInMs: number) => void;
}

export class Completer<T extends { outcome: JobOutcome }> {
  private pending: T[] = [];
  /** Outcomes in the batch being written now. */
  private writing = 0;
  private flushing = false;
  private scheduled = false;
  /** Backoff before retrying a failed write; doubles per failure, resets on success. */
  private backoffMs = 0;

  constructor(private readonly options: CompleterOptions<T>) {}

  /** Outcomes added or being written, not yet acknowledged by the store. */
  get size(): number {
    return this.pending.length + this.writing;
  }

  add(item: T): void {
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
      this.options.onBatch();
    });
  }

  /** Write what is pending now (resolves once this batch is written or has failed). */
  async flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    const batch = this.pending;
    this.pending = [];
    this.writing = batch.length;
    let results: JobFinishResult[];
    try {
      results = await this.options.store.jobFinish({ outcomes: batch.map((p) => p.outcome), now: this.options.clock() });
      this.backoffMs = 0;
    } catch (err) {
      // Keep the outcomes and try again: a full disk or a locked file must not lose a result.
      this.pending.unshift(...batch);
      this.writing = 0;
      this.flushing = false;
      this.backoffMs = Math.min(5_000, Math.max(50, this.backoffMs * 2));
      this.options.onError(err, this.backoffMs);
      const retry = setTimeout(() => { void this.flush(); }, this.backoffMs);
      retry.unref();
      return;
    }
    this.writing = 0;
    for (const [i, r] of results.entries()) this.options.onWritten(batch[i] as T, r);
    this.flushing = false;
    if (this.pending.length > 0) {
      void this.flush();
      return;
    }
    this.options.onDrained();
  }
}
