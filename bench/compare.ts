/**
 * Two builds of agentq measured in the same run, alternating, so that the machine's drift falls on
 * both alike: `tsx bench/compare.ts --old <checkout> [--rounds 3] <part> [<part> ...]`.
 *
 * A part may also be `e2e:sqlite` or `e2e:postgres`: one end-to-end run (`bench/e2e-once.ts`).
 *
 * `<checkout>` is another working tree of agentq (built, with node_modules) holding the version to
 * compare against; this one is the new version. Each round runs every part once in each tree, the
 * order of the two trees swapped every round. Prints one JSON object per metric:
 * `{"part","metric","value","unit","baseline","ratio","runs","min","max"}` where `value` is the
 * median of this tree's figures, `baseline` the median of the old tree's, and `ratio` their
 * quotient (above 1: this tree is that much higher, which is better for rates, worse for times);
 * `baseline_min` and `baseline_max` give the old tree's spread.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { medianOf } from './lib.js';

interface Line {
  part: string;
  metric: string;
  value: number;
  unit: string;
}

const args = process.argv.slice(2);
const at = args.indexOf('--old');
if (at === -1 || args[at + 1] === undefined) {
  process.stderr.write('usage: tsx bench/compare.ts --old <checkout of the other version> [--rounds 3] <part> ...\n');
  process.exit(2);
}
const oldTree = resolve(args[at + 1] as string);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt === -1 ? 3 : Number(args[roundsAt + 1]);
const parts = args.filter((a, i) => !a.startsWith('--') && i !== at + 1 && i !== roundsAt + 1);
const newTree = resolve(import.meta.dirname, '..');

/** One part in one tree: its JSON lines. */
function runPart(tree: string, part: string): Line[] {
  // `e2e:sqlite` and `e2e:postgres` are one end-to-end run each (bench/e2e-once.ts), for more rounds in less time.
  const script = part.startsWith('e2e:') ? ['bench/e2e-once.ts', part.slice(4)] : ['bench/run.ts', part];
  const out = execFileSync('npx', ['tsx', ...script], {
    cwd: tree, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024,
  });
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
}

const figures = new Map<string, { part: string; metric: string; unit: string; old: number[]; new: number[] }>();
for (let round = 0; round < rounds; round += 1) {
  for (const part of parts) {
    const order: ['old' | 'new', string][] = round % 2 === 0 ? [['old', oldTree], ['new', newTree]] : [['new', newTree], ['old', oldTree]];
    for (const [which, tree] of order) {
      process.stderr.write(`compare: round ${String(round + 1)}/${String(rounds)}, ${part}, ${which} (${tree})\n`);
      for (const line of runPart(tree, part)) {
        if (typeof line.value !== 'number') continue;
        const key = `${line.part}\u0000${line.metric}`;
        let f = figures.get(key);
        if (f === undefined) {
          f = { part: line.part, metric: line.metric, unit: line.unit, old: [], new: [] };
          figures.set(key, f);
        }
        f[which].push(line.value);
      }
    }
  }
}
for (const f of figures.values()) {
  if (f.old.length === 0 || f.new.length === 0) continue;
  const now = medianOf(f.new);
  const before = medianOf(f.old);
  process.stdout.write(`${JSON.stringify({
    part: f.part, metric: f.metric, value: now.value, unit: f.unit, baseline: before.value,
    ratio: before.value === 0 ? null : Math.round((now.value / before.value) * 1000) / 1000, runs: now.runs, min: now.min, max: now.max,
    baseline_min: before.min, baseline_max: before.max,
  })}\n`);
}
