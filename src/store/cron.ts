/**
 * Cron expressions: five fields (minute hour day-of-month month day-of-week), evaluated in UTC
 * (default) or the process's local time zone.
 *
 * Each field takes `*`, a number, a range `a-b`, a step `*∕n` or `a-b/n`, and comma lists; months and
 * days of the week also take names (`jan`, `mon`). Day of week is 0-7 (0 and 7 are Sunday). As in
 * Vixie cron, when both day fields are restricted a day matches if either does. Macros: `@yearly`,
 * `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.
 *
 * Written here rather than taken from a library: the queue core's only runtime dependencies are
 * better-sqlite3 and better-queue.
 */
import { ValidationError } from './errors.js';

export interface CronSchedule {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
  readonly timezone: 'utc' | 'local';
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesFrom?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function bad(source: string, detail: string): never {
  throw new ValidationError('cron', `"${source}" is not a valid cron expression: ${detail}. Use five fields, e.g. "0 3 * * *" (03:00 daily) or "*/15 * * * *"`);
}

function parseValue(source: string, spec: FieldSpec, text: string): number {
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (spec.namesFrom ?? 0);
  if (!/^\d+$/.test(text)) bad(source, `"${text}" in the ${spec.name} field is not a number`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) bad(source, `${n} is outside ${spec.min}-${spec.max} for the ${spec.name} field`);
  return n;
}

function parseField(source: string, spec: FieldSpec, text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [rangeText, stepText, extra] = part.split('/');
    if (extra !== undefined || rangeText === undefined || rangeText === '') bad(source, `"${part}" in the ${spec.name} field`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) bad(source, `step "${stepText}" in the ${spec.name} field must be a positive number`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (rangeText === '*') {
      from = spec.min;
      to = spec.max;
    } else if (rangeText.includes('-')) {
      const [a, b, more] = rangeText.split('-') as [string, string, string | undefined];
      if (more !== undefined) bad(source, `"${rangeText}" in the ${spec.name} field`);
      from = parseValue(source, spec, a);
      to = parseValue(source, spec, b);
      if (from > to) bad(source, `range ${rangeText} in the ${spec.name} field runs backwards`);
    } else {
      from = parseValue(source, spec, rangeText);
      to = stepText === undefined ? from : spec.max;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expression: unknown, timezone: 'utc' | 'local' = 'utc'): CronSchedule {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new ValidationError('cron', 'must be a cron expression such as "0 * * * *" (hourly)');
  }
  const source = expression.trim();
  const expanded = MACROS[source.toLowerCase()] ?? source;
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5) bad(source, `it has ${fields.length} fields, not 5 (minute hour day-of-month month day-of-week)`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = FIELDS.map((spec, i) => parseField(source, spec, fields[i] as string)) as [
    Set<number>, Set<number>, Set<number>, Set<number>, Set<number>,
  ];
  if (daysOfWeek.delete(7)) daysOfWeek.add(0);
  return {
    source, minutes, hours, daysOfMonth, months, daysOfWeek, timezone,
    domRestricted: fields[2] !== '*',
    dowRestricted: fields[4] !== '*',
  };
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

function partsOf(ms: number, tz: 'utc' | 'local'): Parts {
  const d = new Date(ms);
  return tz === 'utc'
    ? { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), weekday: d.getUTCDay() }
    : { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), minute: d.getMinutes(), weekday: d.getDay() };
}

function timeOf(p: { year: number; month: number; day: number; hour: number; minute: number }, tz: 'utc' | 'local'): number {
  return tz === 'utc'
    ? Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute)
    : new Date(p.year, p.month - 1, p.day, p.hour, p.minute).getTime();
}

function dayMatches(s: CronSchedule, p: Parts): boolean {
  const dom = s.daysOfMonth.has(p.day);
  const dow = s.daysOfWeek.has(p.weekday);
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The first time strictly after `after` (epoch ms) that matches, or null if none within 5 years. */
export function cronNext(s: CronSchedule, after: number): number | null {
  // Start at the next whole minute.
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  const limit = after + 5 * 366 * 86_400_000;
  while (t <= limit) {
    const p = partsOf(t, s.timezone);
    if (!s.months.has(p.month)) {
      t = timeOf({ year: p.month === 12 ? p.year + 1 : p.year, month: (p.month % 12) + 1, day: 1, hour: 0, minute: 0 }, s.timezone);
      continue;
    }
    if (!dayMatches(s, p)) {
      t = timeOf({ ...p, day: p.day + 1, hour: 0, minute: 0 }, s.timezone);
      continue;
    }
    if (!s.hours.has(p.hour)) {
      t = timeOf({ ...p, hour: p.hour + 1, minute: 0 }, s.timezone);
      continue;
    }
    if (!s.minutes.has(p.minute)) {
      t += 60_000;
      continue;
    }
    return t;
  }
  return null;
}
