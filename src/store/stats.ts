/**
 * Queue statistics from the live counters and the per-minute throughput buckets every write that
 * ends an attempt keeps up to date (never from a scan of the jobs table).
 */
import type { JobStats, TypeStats } from './contract.js';
import { JOB_STATE_LIST, type JobState } from './states.js';

/** The width of a throughput bucket (jobs finished per type and minute). */
export const MINUTE = 60_000;

/** One live counter: jobs of a type in a state. */
export interface CountRow {
  type: string;
  status: JobState;
  n: number;
}

/** Finished jobs of one minute (epoch minutes), summed over types. */
export interface ThroughputBucket {
  minute: number;
  completed: number;
  failed: number;
  wait_ms_sum: number;
  run_ms_sum: number;
}

/** Totals by state and by type from the live counters. */
export function countsToStats(rows: readonly CountRow[]): { byStatus: Record<JobState, number>; byType: TypeStats[] } {
  const byStatus = Object.fromEntries(JOB_STATE_LIST.map((s) => [s, 0])) as Record<JobState, number>;
  const byType = new Map<string, TypeStats>();
  for (const r of rows) {
    byStatus[r.status] += r.n;
    let t = byType.get(r.type);
    if (t === undefined) {
      t = { type: r.type, waiting: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      byType.set(r.type, t);
    }
    t[r.status] += r.n;
  }
  return { byStatus, byType: [...byType.values()] };
}

/**
 * Queue statistics from the counters, the number of queued jobs not yet due, and the last hour's
 * throughput buckets (`minute >= floor(now / 60 s) - 59`).
 */
export function buildJobStats(p: { byStatus: Record<JobState, number>; byType: TypeStats[]; scheduled: number; buckets: readonly ThroughputBucket[]; now: number }): JobStats {
  const nowMinute = Math.floor(p.now / MINUTE);
  const byMinute = new Map(p.buckets.map((b) => [b.minute, b]));
  const throughput = Array.from({ length: 60 }, (_, i) => {
    const minute = nowMinute - 59 + i;
    const b = byMinute.get(minute);
    const done = (b?.completed ?? 0) + (b?.failed ?? 0);
    return { minute: minute * MINUTE, completed: b?.completed ?? 0, failed: b?.failed ?? 0, meanWaitMs: b === undefined || done === 0 ? null : b.wait_ms_sum / done };
  });
  // The last 60 s: this minute so far plus the unelapsed share of the previous minute.
  const share = 1 - (p.now % MINUTE) / MINUTE;
  const cur = throughput[59] as { completed: number; failed: number };
  const prev = throughput[58] as { completed: number; failed: number };
  const lastMinute = {
    completed: cur.completed + Math.round(prev.completed * share),
    failed: cur.failed + Math.round(prev.failed * share),
  };
  let done = 0;
  let wait = 0;
  let run = 0;
  const lastHour = { completed: 0, failed: 0 };
  for (const b of p.buckets) {
    lastHour.completed += b.completed;
    lastHour.failed += b.failed;
    done += b.completed + b.failed;
    wait += b.wait_ms_sum;
    run += b.run_ms_sum;
  }
  return {
    byStatus: p.byStatus,
    byType: p.byType,
    due: p.byStatus.queued - p.scheduled,
    lastMinute,
    lastHour,
    meanWaitMs: done === 0 ? null : wait / done,
    meanRunMs: done === 0 ? null : run / done,
    throughput,
  };
}
