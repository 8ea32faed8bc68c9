/**
 * The shared event writer of the session service.
 */
import type { SessionEvent, SessionStore } from '../store/session-contract.js';
import { NotFoundError, describeThrown } from '../store/errors.js';

/**
 * The shared event writer: collects the messages of every running turn and commits them, with each
 * session's newest preview, in one transaction per `windowMs` (or sooner past `maxPending`), then
 * broadcasts them. A thousand sessions at five messages a second thus cost a few dozen small
 * transactions a second, not thousands. A failed write is raised in the turns it concerned.
 */
export class EventWriter {
  private pending = new Map<number, { events: { type: string; payload: unknown }[]; preview?: string }>();
  private count = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly failures = new Map<number, Error>();

  constructor(
    private readonly store: SessionStore,
    private readonly emit: (sessionId: number, events: SessionEvent[]) => void,
    private readonly windowMs: number,
    private readonly maxPending: number,
  ) {}

  add(sessionId: number, event: { type: string; payload: unknown }, preview?: string): void {
    this.raise(sessionId);
    let entry = this.pending.get(sessionId);
    if (entry === undefined) {
      entry = { events: [] };
      this.pending.set(sessionId, entry);
    }
    entry.events.push(event);
    if (preview !== undefined) entry.preview = preview;
    this.count += 1;
    if (this.count >= this.maxPending) {
      this.schedule(0);
      return;
    }
    this.schedule(this.windowMs);
  }

  /** Resolve once everything added for `sessionId` is committed; throw if it could not be. */
  async flush(sessionId: number): Promise<void> {
    if (this.pending.has(sessionId)) this.schedule(0);
    await this.inFlight;
    // A commit scheduled at 0 ms may start only after the one awaited above.
    if (this.pending.has(sessionId)) await this.commitNow();
    this.raise(sessionId);
  }

  private schedule(ms: number): void {
    if (this.timer !== null) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => { void this.commitNow(); }, ms);
  }

  private commitNow(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = new Map();
    this.count = 0;
    const batches = [...batch.entries()].map(([sessionId, e]) => ({ sessionId, events: e.events, ...(e.preview === undefined ? {} : { preview: e.preview }) }));
    this.inFlight = this.inFlight.then(async () => {
      try {
        const { written, missing } = await this.store.eventAppendMany({ batches, now: Date.now() });
        for (const id of missing) this.failures.set(id, new NotFoundError('session', id));
        for (const [i, b] of batches.entries()) if (!missing.includes(b.sessionId)) this.emit(b.sessionId, written[i] as SessionEvent[]);
      } catch (err) {
        for (const b of batches) this.failures.set(b.sessionId, err instanceof Error ? err : new Error(describeThrown(err)));
      }
    });
    return this.inFlight;
  }

  private raise(sessionId: number): void {
    const failure = this.failures.get(sessionId);
    if (failure !== undefined) {
      this.failures.delete(sessionId);
      throw failure;
    }
  }
}
