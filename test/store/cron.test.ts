import { describe, expect, it } from 'vitest';
import { cronNext, parseCron } from '../../src/store/cron.js';
import { ValidationError } from '../../src/store/errors.js';

const at = (iso: string): number => Date.parse(iso);
const next = (expr: string, from: string, tz: 'utc' | 'local' = 'utc'): string | null => {
  const t = cronNext(parseCron(expr, tz), at(from));
  return t === null ? null : new Date(t).toISOString();
};

describe('cron', () => {
  it.each([
    ['* * * * *', '2026-01-01T00:00:30Z', '2026-01-01T00:01:00.000Z'],
    ['0 * * * *', '2026-01-01T00:00:00Z', '2026-01-01T01:00:00.000Z'],
    ['*/15 * * * *', '2026-01-01T10:16:00Z', '2026-01-01T10:30:00.000Z'],
    ['30 3 * * *', '2026-01-01T03:30:00Z', '2026-01-02T03:30:00.000Z'],
    ['0 9-17/4 * * *', '2026-01-01T10:00:00Z', '2026-01-01T13:00:00.000Z'],
    ['0 0 1 * *', '2026-01-15T00:00:00Z', '2026-02-01T00:00:00.000Z'],
    ['0 0 * * mon', '2026-01-01T00:00:00Z', '2026-01-05T00:00:00.000Z'],
    ['0 0 * * 7', '2026-01-01T00:00:00Z', '2026-01-04T00:00:00.000Z'],
    ['0 0 13 * fri', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00.000Z'],
    ['0 0 29 feb *', '2026-01-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 12 * dec *', '2026-01-01T00:00:00Z', '2026-12-01T12:00:00.000Z'],
    ['5,10 0 * * *', '2026-01-01T00:05:00Z', '2026-01-01T00:10:00.000Z'],
    ['@hourly', '2026-01-01T00:59:59Z', '2026-01-01T01:00:00.000Z'],
    ['@daily', '2026-12-31T23:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['@weekly', '2026-01-01T00:00:00Z', '2026-01-04T00:00:00.000Z'],
    ['@monthly', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00.000Z'],
    ['@yearly', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['0 0 1 1 *', '2026-06-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
  ])('%s after %s is %s', (expr, from, expected) => {
    expect(next(expr, from)).toBe(expected);
  });

  it('never matches an impossible date', () => {
    expect(next('0 0 30 2 *', '2026-01-01T00:00:00Z')).toBeNull();
  });

  it('reads local time when asked', () => {
    const from = new Date(2026, 0, 1, 12, 0).getTime();
    const t = cronNext(parseCron('0 8 * * *', 'local'), from)!;
    const d = new Date(t);
    expect([d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2, 8, 0]);
  });

  it.each([
    ['', /must be a cron expression/],
    ['* * * *', /has 4 fields, not 5/],
    ['60 * * * *', /60 is outside 0-59 for the minute field/],
    ['* 24 * * *', /outside 0-23 for the hour/],
    ['* * 0 * *', /outside 1-31/],
    ['* * * 13 *', /outside 1-12/],
    ['x * * * *', /"x" in the minute field is not a number/],
    ['*/0 * * * *', /step "0"/],
    ['5-1 * * * *', /runs backwards/],
    ['1-2-3 * * * *', /"1-2-3"/],
    ['1/2/3 * * * *', /"1\/2\/3"/],
    [',5 * * * *', /"" in the minute field/],
  ])('rejects %j with a clear message', (expr, message) => {
    expect(() => parseCron(expr)).toThrow(ValidationError);
    expect(() => parseCron(expr)).toThrow(message);
  });

  it('rejects non-strings', () => {
    expect(() => parseCron(5)).toThrow(/must be a cron expression/);
  });
});
