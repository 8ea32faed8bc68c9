import { expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/command.js';
import { Progress } from '../../src/cli/progress.js';

it('draws a bar on a terminal at most ten times a second, a count when the total is unknown, and nothing otherwise', () => {
  const out: string[] = [];
  const bar = new Progress(true, 'backup', (t) => out.push(t));
  bar.update(0, 200, 1_000);
  bar.update(50, 200, 1_050); // too soon: skipped
  bar.update(100, 200, 1_200);
  bar.done();
  expect(out).toEqual([
    '\rbackup [..............................]   0% 0/200',
    '\rbackup [###############...............]  50% 100/200',
    '\n',
  ]);
  const count: string[] = [];
  const counter = new Progress(true, 'cleanup', (t) => count.push(t));
  counter.update(12_345, null, 5_000);
  expect(count).toEqual(['\rcleanup: 12,345   ']);
  const silent: string[] = [];
  const off = new Progress(false, 'vacuum', (t) => silent.push(t));
  off.update(1, 2, 9_999);
  off.done();
  expect(silent).toEqual([]);
});

it('reads durations in ms, s, m, h and d, and refuses anything else', () => {
  expect(parseDuration('--delay', '250')).toBe(250);
  expect(parseDuration('--delay', '30s')).toBe(30_000);
  expect(parseDuration('--delay', '15m')).toBe(900_000);
  expect(parseDuration('--delay', '12h')).toBe(43_200_000);
  expect(parseDuration('--older-than', '7d')).toBe(604_800_000);
  expect(() => parseDuration('--delay', '-5')).toThrow(/--delay: must be a duration such as 30s/);
  expect(() => parseDuration('--delay', '5 weeks')).toThrow(/--delay/);
});
