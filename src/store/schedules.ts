/**
 * When a schedule fires next: after it is created, after a tick fired (catching up on late ticks,
 * collapsing missed ones), and after it is replaced.
 */
import { cronNext, parseCron } from './cron.js';
import type { NormalizedSchedule } from './validation.js';
import type { ScheduleRow } from './rows.js';

/**
 * Ticks that fall due while agentq runs late (a busy machine, a slow pass) are still fired one by
 * one; only ticks older than this when the previous one fires were missed while nothing ran, and
 * collapse into the next tick after now.
 */
export const SCHEDULE_CATCH_UP_MS = 60_000;

/** The schedule's next tick once tick `due` fired at `now` (see SCHEDULE_CATCH_UP_MS). */
export function scheduleTickAfterFire(s: Pick<NormalizedSchedule, 'cron' | 'everyMs' | 'timezone'>, now: number, due: number): number | null {
  const next = s.cron !== null ? cronNext(parseCron(s.cron, s.timezone), due) : due + (s.everyMs as number);
  return next !== null && next >= now - SCHEDULE_CATCH_UP_MS ? next : scheduleNextTick(s, now, due);
}

/** The next tick strictly after `now`. Interval schedules keep their phase from `anchor`. */
export function scheduleNextTick(s: Pick<NormalizedSchedule, 'cron' | 'everyMs' | 'timezone'>, now: number, anchor: number): number | null {
  if (s.cron !== null) return cronNext(parseCron(s.cron, s.timezone), now);
  const every = s.everyMs as number;
  return anchor + every * (Math.floor(Math.max(0, now - anchor) / every) + 1);
}

/**
 * The next tick of a schedule being replaced: none when disabled; the pending tick when its timing
 * (cron, interval, time zone) is unchanged; otherwise the first tick after now.
 */
export function scheduleNextAfterUpdate(current: ScheduleRow, s: NormalizedSchedule, now: number): number | null {
  if (!s.enabled) return null;
  const sameTiming = current.cron === s.cron && current.every_ms === s.everyMs && current.timezone === s.timezone;
  return sameTiming && current.next_run_at !== null ? current.next_run_at : scheduleNextTick(s, now, now);
}
