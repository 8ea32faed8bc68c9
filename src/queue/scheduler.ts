/**
 * The scheduler: turns due schedule ticks into jobs. Every process may run one; the store's
 * `scheduleFire` lets exactly one caller win each tick. It sleeps until the earliest next tick
 * (at most `pollIntervalMs`, so schedules added by other processes are noticed).
 */
import type { NewJob, Schedule, JobStore } from '../store/contract.js';
import { AgentqError } from '../store/errors.js';
import type { JobEvents } from './events.js';
import { describeThrown } from '../store/errors.js';

export interface SchedulerOptions {
  store: JobStore;
  events: JobEvents;
  /** Build the job for a tick (applies the job type's definition and defaults). */
  buildJob: (schedule: Schedule) => NewJob;
  /** Called after a tick created a job (e.g. to wake the local worker). */
  onFired?: () => void;
  clock?: () => number;
  /** Longest sleep between checks. Default 1,000 ms. */
  pollIntervalMs?: number;
}

export class Scheduler {
  private readonly options: Required<Omit<SchedulerOptions, 'onFired'>> & Pick<SchedulerOptions, 'onFired'>;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = true;

  constructor(options: SchedulerOptions) {
    this.options = { clock: Date.now, pollIntervalMs: 1_000, ...options };
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Check for due ticks now (e.g. after a schedule was added). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  /** True (once) when a wake-up arrived during a pass. */
  private takeAgain(): boolean {
    const again = this.again;
    this.again = false;
    return again;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async run(): Promise<void> {
    let delay = this.options.pollIntervalMs;
    try {
      do {
        this.again = false;
        await this.fireDue();
      } while (this.takeAgain());
      const next = await this.options.store.scheduleNextRunAt();
      if (next !== null) delay = Math.min(delay, Math.max(0, next - this.options.clock()));
    } catch (err) {
      this.options.events.emit('worker:error', { error: `scheduler: ${describeThrown(err)}`, code: err instanceof AgentqError ? err.code : 'UNKNOWN' });
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.wake(); }, delay);
    this.timer.unref();
  }

  /** Fire every due tick; returns how many jobs this process created. */
  async fireDue(): Promise<number> {
    const { store, events, clock } = this.options;
    let fired = 0;
    for (const s of await store.scheduleDue({ now: clock() })) {
      const due = s.nextRunAt as number;
      const r = await store.scheduleFire({ name: s.name, due, job: this.options.buildJob(s), now: clock() });
      if (r.fired) {
        fired += 1;
        events.emit('schedule:fired', { name: s.name, due, jobId: r.jobId as number });
      }
    }
    if (fired > 0) this.options.onFired?.();
    return fired;
  }
}
