/**
 * Type isolation: a job type whose attempts fail `failures` times in a row in this worker is
 * paused for `cooldownMs` (claimed no more), then resumed by itself; `resume` ends a pause early.
 * A completion resets the count; other outcomes (snoozes, cancels, hand-backs) leave it as it is.
 */
import type { JobOutcome } from '../store/contract.js';

export interface IsolationOptions {
  /** Consecutive failed attempts of one type that pause it. Default 5; 0 turns isolation off. */
  failures: number;
  /** How long a paused type stays paused. Default 60,000 ms. */
  cooldownMs: number;
}

export interface PausedType {
  type: string;
  until: number;
  failures: number;
}

export class TypeIsolation {
  private readonly failuresInRow = new Map<string, number>();
  private readonly paused = new Map<string, { until: number; failures: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly options: IsolationOptions,
    private readonly clock: () => number,
    /** A pause ended (by time or by hand). */
    private readonly onResume: (type: string) => void,
  ) {}

  isPaused(type: string): boolean {
    return this.paused.has(type);
  }

  /** Count an attempt's outcome; returns the pause it started, if it started one. */
  track(type: string, outcome: JobOutcome): PausedType | null {
    if (this.options.failures === 0) return null;
    if (outcome.kind === 'completed') {
      this.failuresInRow.delete(type);
      return null;
    }
    if (outcome.kind !== 'failed') return null;
    const failures = (this.failuresInRow.get(type) ?? 0) + 1;
    this.failuresInRow.set(type, failures);
    if (failures < this.options.failures || this.paused.has(type)) return null;
    const until = this.clock() + this.options.cooldownMs;
    const timer = setTimeout(() => { this.resume(type); }, this.options.cooldownMs);
    timer.unref();
    this.paused.set(type, { until, failures, timer });
    return { type, until, failures };
  }

  /** End a pause; false when the type was not paused. */
  resume(type: string): boolean {
    const p = this.paused.get(type);
    if (p === undefined) return false;
    clearTimeout(p.timer);
    this.paused.delete(type);
    this.failuresInRow.delete(type);
    this.onResume(type);
    return true;
  }

  list(): PausedType[] {
    return [...this.paused.entries()].map(([type, p]) => ({ type, until: p.until, failures: p.failures }));
  }

  /** Stop the pause timers (the worker is stopping). */
  stop(): void {
    for (const p of this.paused.values()) clearTimeout(p.timer);
  }
}
