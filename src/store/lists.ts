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
  /**
   * With a search (`data`, `error`): the last job the page's scan looks at (its sort key as `k`,
   * and `id`), or no row when the scan ends before SEARCH_SCAN_CAP jobs; else null.
   */
  boundary: BoundSql | null;
}

/** How a backend binds a parameter and tests a column against a list of values. */
export interface ListDialect {
  /** The placeholder of the `n`-th parameter (1-based). */
  param(n: number): string;
  /** A LIMIT clause's operand for a bound placeholder. */
  limit(placeholder: string): string;
  /** `column` is one of `values`; `arg` binds a value and returns its placeholder. */
  oneOf(column: string, values: readonly string[], arg: (value: unknown) => string): string;
  /** The JSON value at `path` of `data` equals `value` (same type and value). */
  dataEquals(path: readonly string[], value: string | number | boolean | null, arg: (value: unknown) => string): string;
  /** `column` contains `text`, in any case. */
  contains(column: string, text: string, arg: (value: unknown) => string): string;
}

/** Jobs a search (`data`, `error`: no index serves them) looks at per page, at most. */
export const SEARCH_SCAN_CAP = 10_000;

/** Binds arguments in the order their placeholders appear. */
function binder(dialect: ListDialect): { args: unknown[]; arg: (value: unknown) => string } {
  const args: unknown[] = [];
  return { args, arg: (value) => { args.push(value); return dialect.param(args.length); } };
}

/** The SQL of a page of jobs, of its total and (searching) of its scan's last job, in the dialect of one backend. */
export function jobListQueries(p: NormalizedList, dialect: ListDialect): JobListQueries {
  const column = SORT_COLUMNS[p.sort.key];
  const cmp = p.sort.descending ? '<' : '>';
  const dir = p.sort.descending ? 'DESC' : 'ASC';
  const order = column === 'id' ? `id ${dir}` : `${column} ${dir}, id ${dir}`;
  /** The indexed filters (and the cursor, for a page), as a WHERE clause, binding through `arg`. */
  const filters = (arg: (value: unknown) => string, withCursor: boolean): string => {
    const where: string[] = [];
    if (p.statuses !== null) where.push(dialect.oneOf('status', p.statuses, arg));
    if (p.types !== null) where.push(dialect.oneOf('type', p.types, arg));
    if (p.groupKey !== null) where.push(`group_key = ${arg(p.groupKey)}`);
    if (p.after !== null) where.push(`created_at >= ${arg(p.after)}`);
    if (p.before !== null) where.push(`created_at < ${arg(p.before)}`);
    if (withCursor && p.cursor !== null) {
      if (column === 'id') where.push(`id ${cmp} ${arg(p.cursor[1])}`);
      else where.push(`(${column}, id) ${cmp} (${arg(p.cursor[0])}, ${arg(p.cursor[1])})`);
    }
    return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  };
  const searching = p.data !== null || p.error !== null;
  const search = (arg: (value: unknown) => string): string => [
    ...(p.data ?? []).map((d) => dialect.dataEquals(d.path, d.value, arg)),
    ...(p.error === null ? [] : [dialect.contains('error', p.error, arg)]),
  ].join(' AND ');
  if (!searching) {
    const c = binder(dialect);
    const countWhere = filters(c.arg, false);
    const count = p.groupKey === null && p.after === null && p.before === null ? null : {
      sql: `SELECT count(*) AS n FROM (SELECT 1 FROM jobs ${countWhere} LIMIT ${String(TOTAL_COUNT_CAP + 1)}) AS capped`,
      args: c.args,
    };
    const g = binder(dialect);
    const page = { sql: `SELECT * FROM jobs ${filters(g.arg, true)} ORDER BY ${order} LIMIT ${dialect.limit(g.arg(p.limit + 1))}`, args: g.args };
    return { page, count, boundary: null };
  }
  // A search scans at most SEARCH_SCAN_CAP jobs in the list's order, and says when it stopped there.
  const g = binder(dialect);
  const scan = `SELECT * FROM jobs ${filters(g.arg, true)} ORDER BY ${order} LIMIT ${dialect.limit(g.arg(SEARCH_SCAN_CAP))}`;
  const page = { sql: `SELECT * FROM (${scan}) AS scanned WHERE ${search(g.arg)} ORDER BY ${order} LIMIT ${dialect.limit(g.arg(p.limit + 1))}`, args: g.args };
  const c = binder(dialect);
  const countScan = `SELECT * FROM jobs ${filters(c.arg, false)} ORDER BY ${order} LIMIT ${dialect.limit(c.arg(SEARCH_SCAN_CAP))}`;
  const count = { sql: `SELECT count(*) AS n FROM (${countScan}) AS scanned WHERE ${search(c.arg)}`, args: c.args };
  const b = binder(dialect);
  const boundary = {
    sql: `SELECT ${column} AS k, id FROM jobs ${filters(b.arg, true)} ORDER BY ${order} LIMIT 1 OFFSET ${dialect.limit(b.arg(SEARCH_SCAN_CAP - 1))}`,
    args: b.args,
  };
  return { page, count, boundary };
}

/**
 * A list result from the page's rows (fetched one past the limit) and either the counters or the
 * capped count (`counted`, when the filter needed one).
 */
export function jobListResult(
  p: NormalizedList, rows: JobRow[], counts: readonly CountRow[] | null, counted: number | null, boundary: { k: number; id: number } | null = null,
): JobListResult {
  const column = SORT_COLUMNS[p.sort.key];
  const page = rows.slice(0, p.limit).map(rowToJob);
  const last = page.at(-1);
  let nextCursor = rows.length > p.limit && last !== undefined
    ? encodeCursor(column === 'id' ? last.id : (rows[p.limit - 1] as unknown as Record<string, number>)[column] as number, last.id)
    : null;
  if (p.data !== null || p.error !== null) {
    // A search that stopped at its scan's bound goes on, next page, after the last job it looked at.
    const bounded = boundary !== null;
    if (nextCursor === null && boundary !== null) nextCursor = encodeCursor(boundary.k, boundary.id);
    // The total counts matches among the first SEARCH_SCAN_CAP jobs of the whole filter: exact only when one page's scan saw them all.
    return { jobs: page, nextCursor, total: counted ?? 0, totalExact: !bounded && p.cursor === null, searchBounded: bounded };
  }
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
