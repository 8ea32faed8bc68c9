import { mkdtempSync, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Metric {
  part: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  /** Where the value is a median of several runs: how many, and the lowest and highest. */
  runs?: number;
  min?: number;
  max?: number;
  /** Named baselines printed as `baseline_<name>` (when a target is to beat several). */
  baselines?: Record<string, number>;
  note?: string;
}

export function emit(m: Metric): void {
  const round = (n: number): number => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 100) / 100);
  const { baselines, ...rest } = m;
  const out: Record<string, unknown> = { ...rest, value: round(m.value) };
  if (m.min !== undefined) out.min = round(m.min);
  if (m.max !== undefined) out.max = round(m.max);
  if (m.baseline !== undefined) {
    out.baseline = round(m.baseline);
    out.ratio = Math.round((m.value / m.baseline) * 1000) / 1000;
  }
  for (const [name, value] of Object.entries(baselines ?? {})) out[`baseline_${name}`] = round(value);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** A scratch directory removed when `fn` settles. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'agentq-bench-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** RSS and JS heap after a full garbage collection, so samples compare live memory, not GC timing. */
export function memoryAfterGc(): { rss: number; heap: number } {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Several runs of one figure, reported as their median with the number of runs and the spread. */
export interface Runs {
  value: number;
  runs: number;
  min: number;
  max: number;
}

/** The median of `values` (the lower middle of an even count), with their number and spread. */
export function medianOf(values: readonly number[]): Runs {
  const sorted = [...values].sort((a, b) => a - b);
  return { value: sorted[Math.floor((sorted.length - 1) / 2)] as number, runs: sorted.length, min: sorted[0] as number, max: sorted.at(-1) as number };
}

/**
 * Run each of `sides` `runs` times, taking turns (a, b, c, a, b, c, …) so that every side sees the
 * machine in the same state, and report each side's median. Never report the best run alone.
 */
export async function alternate<K extends string>(runs: number, sides: Record<K, () => Promise<number>>): Promise<Record<K, Runs>> {
  const values = Object.fromEntries(Object.keys(sides).map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let i = 0; i < runs; i++) {
    for (const key of Object.keys(sides) as K[]) values[key].push(await sides[key]());
  }
  return Object.fromEntries((Object.keys(sides) as K[]).map((k) => [k, medianOf(values[k])])) as Record<K, Runs>;
}
