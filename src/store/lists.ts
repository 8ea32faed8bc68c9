/**
 * Pages of jobs: the SQL of a filtered, sorted page and of its total, built once for both backends
 * from a small dialect each backend's SQL file supplies, and the result made from the rows.
 */
import type { JobListResult } from './contract.js';
import { encodeCursor, type NormalizedList } from './validation.js';
import { rowToJob, type JobRow } from './rows.js';
import type { CountRow } from './stats.js';

const SORT_COLUMNS = { id: 'id', createdAt: 'created_at', runAt: 'run_at', priority: 'priority', updatedAt: 'updated_at' } as const;
/** A filtered total is counted up to this many rows; beyond it the total is a lower bound. */
const TOTAL_COUNT_CAP = 10_000;

/** A statement and its arguments. */
export interface BoundSql {
  sql: string;
  args: unknown[];
}

export interface JobListQueries {
  /** The page, one row more than the limit (that row says whether a next page exists). */
  page: BoundSql;
  /** A count capped past TOTAL_COUNT_CAP rows, or null when the counters answer (status/type filters only). */
  count: BoundSql | null;
}

/** How a backend binds a parameter and tests a column against a list of values. */
export interface ListDialect {
  /** The placeholder of the `n`-th parameter (1-based). */
  param(n: number): string;
  /** A LIMIT clause's operand for a bound placeholder. */
  limit(placeholder: string): string;
  /** `column` is one of `values`; `arg` binds a value and returns its placeholder. */
  oneOf(column: string, values: readonly string[], arg: (value: unknown) => string): string;
}

/** The SQL of a page of jobs and of its total, in the dialect of one backend. */
export function jobListQueries(p: NormalizedList, dialect: ListDialect): JobListQueries {
  const args: unknown[] = [];
  const arg = (value: unknown): string => {
    args.push(value);
    return dialect.param(args.length);
  };
  const where: string[] = [];
  if (p.statuses !== null) where.push(dialect.oneOf('status', p.statuses, arg));
  if (p.types !== null) where.push(dialect.oneOf('type', p.types, arg));
  if (p.groupKey !== null) where.push(`group_key = ${arg(p.groupKey)}`);
  if (p.after !== null) where.push(`created_at >= ${arg(p.after)}`);
  if (p.before !== null) where.push(`created_at < ${arg(p.before)}`);
  // The filter's own parameters come first, so the count can reuse them as they are numbered.
  const count = p.groupKey === null && p.after === null && p.before === null ? null : {
    sql: `SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE ${where.join(' AND ')} LIMIT ${String(TOTAL_COUNT_CAP + 1)}) AS capped`,
    args: [...args],
  };
  const column = SORT_COLUMNS[p.sort.key];
  const cmp = p.sort.descending ? '<' : '>';
  const dir = p.sort.descending ? 'DESC' : 'ASC';
  if (p.cursor !== null) {
    if (column === 'id') where.push(`id ${cmp} ${arg(p.cursor[1])}`);
    else where.push(`(${column}, id) ${cmp} (${arg(p.cursor[0])}, ${arg(p.cursor[1])})`);
  }
  const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const order = column === 'id' ? `id ${dir}` : `${column} ${dir}, id ${dir}`;
  const page = { sql: `SELECT * FROM jobs ${whereSql} ORDER BY ${order} LIMIT ${dialect.limit(arg(p.limit + 1))}`, args };
  return { page, count };
}

/**
 * A list result from the page's rows (fetched one past the limit) and either the counters or the
 * capped count (`counted`, when the filter needed one).
 */
export function jobListResult(p: NormalizedList, rows: JobRow[], counts: readonly CountRow[] | null, counted: number | null): JobListResult {
  const column = SORT_COLUMNS[p.sort.key];
  const page = rows.slice(0, p.limit).map(rowToJob);
  const last = page.at(-1);
  const nextCursor = rows.length > p.limit && last !== undefined
    ? encodeCursor(column === 'id' ? last.id : (rows[p.limit - 1] as unknown as Record<string, number>)[column] as number, last.id)
    : null;
  if (counted !== null) {
    return counted > TOTAL_COUNT_CAP
      ? { jobs: page, nextCursor, total: TOTAL_COUNT_CAP, totalExact: false }
      : { jobs: page, nextCursor, total: counted, totalExact: true };
  }
  // Status and type filters are answered exactly from the counters.
  const total = (counts ?? [])
    .filter((r) => (p.statuses === null || p.statuses.includes(r.status)) && (p.types === null || p.types.includes(r.type)))
    .reduce((sum, r) => sum + r.n, 0);
  return { jobs: page, nextCursor, total, totalExact: true };
}
