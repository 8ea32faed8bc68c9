/**
 * Which queued jobs a claim takes: the room each limited type has left, one job per group key, in
 * claim order (priority, then due time, then id). Both backends pick through these.
 */
import type { Job } from './contract.js';
import { rowToJob, type JobRow } from './rows.js';

/** How many more running jobs each limited type may have, given how many run now. */
export function roomByType(types: readonly string[], typeLimits: Readonly<Record<string, number>>, running: ReadonlyMap<string, number>): Map<string, number> {
  const room = new Map<string, number>();
  for (const t of types) {
    const max = typeLimits[t];
    if (max !== undefined) room.set(t, Math.max(0, max - (running.get(t) ?? 0)));
  }
  return room;
}

/** A type's operator controls, as a claim reads them (rows exist only for controlled types). */
export interface TypeControlRow {
  type: string;
  paused_at: number | null;
  rate_max: number | null;
  rate_window_ms: number | null;
}

/**
 * Apply operator controls to a claim: paused types are left out; a rate-limited type's room is at
 * most its starts left in the window (`starts`: starts counted in the window now). Narrows `room`;
 * returns the types that may be claimed.
 */
export function applyTypeControls(types: readonly string[], controls: readonly TypeControlRow[], starts: ReadonlyMap<string, number>, room: Map<string, number>): string[] {
  const byType = new Map(controls.map((c) => [c.type, c]));
  return types.filter((t) => {
    const c = byType.get(t);
    if (c === undefined) return room.get(t) !== 0;
    if (c.paused_at !== null) return false;
    if (c.rate_max !== null) {
      const left = Math.max(0, c.rate_max - (starts.get(t) ?? 0));
      const limit = room.get(t);
      room.set(t, limit === undefined ? left : Math.min(limit, left));
    }
    return room.get(t) !== 0;
  });
}

export interface ClaimCandidate {
  id: number;
  type: string;
  group_key: string | null;
}

/**
 * Pick, in candidate order, up to `limit` jobs: one per group key and within each type's room
 * (`room` is consumed). `groupBusy` says whether a group already has a running job elsewhere.
 */
export function pickClaims<C extends ClaimCandidate>(candidates: readonly C[], limit: number, room: Map<string, number>, groupBusy: (group: string) => boolean = () => false): C[] {
  const groups = new Set<string>();
  const picked: C[] = [];
  for (const c of candidates) {
    if (picked.length >= limit) break;
    if (c.group_key !== null && (groups.has(c.group_key) || groupBusy(c.group_key))) continue;
    const left = room.get(c.type);
    if (left !== undefined) {
      if (left <= 0) continue;
      room.set(c.type, left - 1);
    }
    if (c.group_key !== null) groups.add(c.group_key);
    picked.push(c);
  }
  return picked;
}

/** Claimed rows in claim order: priority, then due time, then id. */
export function claimOrder(rows: JobRow[]): Job[] {
  return rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id).map(rowToJob);
}
