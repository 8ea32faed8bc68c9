/* The contract is async so that networked backends fit; this one does its work synchronously. */
/* eslint-disable @typescript-eslint/require-await */
/**
 * The SQLite SessionStore: sessions and their event logs, on the job store's connection.
 */
import type { Statement } from 'better-sqlite3';
import type { Approval, ApprovalAnswer, ApprovalState, NewApproval, NewSession, Session, SessionSettings, SessionEvent, SessionListResult, SessionPatch, SessionStore, SessionTotals } from '../session-contract.js';
import { NotFoundError, StateConflictError } from '../errors.js';
import {
  LIMITS, validateId, validateInteger, validateNow, validateText, validateTime, approvalClosedMessage, normalizeApprovalAnswer, normalizeApprovalClose, normalizeApprovalList, normalizeDefaults, normalizeNewApproval, normalizeBatches, normalizeEventList, normalizeEventTail, normalizeEvents, normalizeLastPrompts, normalizeNewSession, normalizeSessionList, normalizeSessionPatch, type NormalizedBatch,
} from '../validation.js';
import { PATCH_COLUMNS, rowToApproval, type ApprovalRow, rowToEvent, rowToSession, sessionPage, sessionTotals, type EventRow, type SessionRow, type SessionTotalsRow } from '../rows.js';
import type { SqliteDatabase } from './database.js';
import { translateSqliteError } from './database.js';
import { SESSION_SQL } from './sessions.sql.js';

export { validateSessionSettings } from '../validation.js';

export class SqliteSessionStore implements SessionStore {
  private readonly stmts: Record<keyof typeof SESSION_SQL, Statement>;
  private readonly updates = new Map<string, Statement>();
  private readonly tx: { immediate: <T>(fn: () => T) => T };

  /** `writesPaused` (the checkpointer's) is non-null while writes must wait. */
  constructor(
    private readonly db: SqliteDatabase,
    private readonly maxDataBytes: number = LIMITS.defaultMaxDataBytes,
    private readonly writesPaused: () => Promise<void> | null = () => null,
  ) {
    this.stmts = Object.fromEntries(Object.entries(SESSION_SQL).map(([k, sql]) => [k, db.prepare(sql)])) as Record<keyof typeof SESSION_SQL, Statement>;
    // One wrapper for the store's lifetime: making one per call costs more than a small write.
    const tx = db.transaction((fn: () => unknown) => fn());
    this.tx = { immediate: <T>(fn: () => T): T => tx.immediate(fn) as T };
  }

  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translateSqliteError(err);
    }
  }

  /** `fn` in an IMMEDIATE transaction, once writes may go on. */
  private write<T>(fn: () => T): T | Promise<T> {
    const paused = this.writesPaused();
    if (paused !== null) return paused.then(() => this.write(fn));
    return this.run(() => this.tx.immediate(fn));
  }

  async sessionCreate(params: { session: NewSession; now: number }): Promise<Session> {
    const now = validateNow(params.now);
    const session = normalizeNewSession(params.session);
    return this.write(() => {
      const info = this.stmts.insert.run({ ...session, now });
      return rowToSession(this.stmts.byId.get(Number(info.lastInsertRowid)) as SessionRow);
    });
  }

  async sessionGet(params: { id: number }): Promise<Session | null> {
    const id = validateId(params.id);
    const row = this.run(() => this.stmts.byId.get(id) as SessionRow | undefined);
    return row === undefined ? null : rowToSession(row);
  }

  async sessionList(params: { archived?: boolean; limit?: number; cursor?: string | null } = {}): Promise<SessionListResult> {
    const { archived, limit, afterActivity, afterId } = normalizeSessionList(params);
    const rows = this.run(() => this.stmts.page.all({ archived: archived ? 1 : 0, afterActivity, afterId, limit: limit + 1 }) as SessionRow[]);
    return sessionPage(rows, limit);
  }

  async sessionUpdate(params: { id: number; patch: SessionPatch; now: number }): Promise<Session> {
    const id = validateId(params.id);
    const now = validateNow(params.now);
    const values: Record<string, unknown> = normalizeSessionPatch(params.patch);
    if (values.archived !== undefined) values.archived = values.archived === true ? 1 : 0;
    const keys = Object.keys(values).sort() as (keyof SessionPatch)[];
    const sql = `UPDATE sessions SET ${keys.map((k) => `${PATCH_COLUMNS[k]} = @${k}`).concat('updated_at = @now').join(', ')} WHERE id = @id`;
    let stmt = this.updates.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.updates.set(sql, stmt);
    }
    const update = stmt;
    return this.write(() => {
      if (update.run({ ...values, id, now }).changes === 0) throw new NotFoundError('session', id);
      return rowToSession(this.stmts.byId.get(id) as SessionRow);
    });
  }

  async sessionStale(params: { groupPrefix: string }): Promise<Session[]> {
    const prefix = validateText('groupPrefix', params.groupPrefix, 100);
    return this.run(() => (this.stmts.stale.all({ prefix }) as SessionRow[]).map(rowToSession));
  }

  async sessionDelete(params: { id: number }): Promise<boolean> {
    const id = validateId(params.id);
    return this.write(() => this.stmts.delete.run(id).changes === 1);
  }

  async sessionCleanup(params: { before: number; groupPrefix: string; limit: number }): Promise<number> {
    const before = validateTime('before', params.before);
    const prefix = validateText('groupPrefix', params.groupPrefix, 100);
    const limit = validateInteger('limit', params.limit, 1, LIMITS.batchMax);
    return this.write(() => this.stmts.cleanup.run({ before, prefix, limit }).changes);
  }

  async sessionTotals(): Promise<SessionTotals> {
    return sessionTotals(this.run(() => this.stmts.totals.all() as SessionTotalsRow[]));
  }

  async eventLastPrompts(params: { sessionId: number; limit?: number }): Promise<SessionEvent[]> {
    const { sessionId, limit } = normalizeLastPrompts(params);
    return this.run(() => (this.stmts.lastPrompts.all({ sessionId, limit }) as EventRow[]).map(rowToEvent));
  }

  /** Reserve `n` seqs (inside a write transaction); returns the new last seq, or null if no such session. */
  private reserve(id: number, n: number, now: number): number | null {
    if (this.stmts.reserveSeq.run({ id, n, now }).changes === 0) return null;
    return (this.stmts.lastSeq.get(id) as { last_seq: number }).last_seq;
  }

  /** Write validated batches in one transaction; sessions that do not exist are reported, not written. */
  private appendBatches(batches: NormalizedBatch[], now: number): { written: SessionEvent[][]; missing: number[] } | Promise<{ written: SessionEvent[][]; missing: number[] }> {
    return this.write(() => {
      const written: SessionEvent[][] = [];
      const missing: number[] = [];
      for (const b of batches) {
        const last = this.reserve(b.sessionId, b.events.length, now);
        if (last === null) {
          missing.push(b.sessionId);
          written.push([]);
          continue;
        }
        const first = last - b.events.length + 1;
        written.push(b.events.map((e, i) => {
          const id = Number(this.stmts.eventsInsert.run({ sessionId: b.sessionId, seq: first + i, type: e.type, payload: e.json, now }).lastInsertRowid);
          // The payload as given: its JSON text is what was stored; parsing it back would double the work.
          return { id, sessionId: b.sessionId, seq: first + i, type: e.type, payload: e.payload, createdAt: now };
        }));
        if (b.preview !== null) this.stmts.previewSet.run({ id: b.sessionId, preview: b.preview, now });
      }
      return { written, missing };
    });
  }

  async eventAppend(params: { sessionId: number; events: { type: string; payload: unknown }[]; now: number }): Promise<SessionEvent[]> {
    const sessionId = validateId(params.sessionId, 'sessionId');
    const now = validateNow(params.now);
    const events = normalizeEvents(params.events, '', this.maxDataBytes);
    const { written, missing } = await this.appendBatches([{ sessionId, preview: null, events }], now);
    if (missing.length > 0) throw new NotFoundError('session', sessionId);
    return written[0] as SessionEvent[];
  }

  async eventAppendMany(params: { batches: { sessionId: number; events: { type: string; payload: unknown }[]; preview?: string }[]; now: number }): Promise<{ written: SessionEvent[][]; missing: number[] }> {
    const now = validateNow(params.now);
    return this.appendBatches(normalizeBatches(params.batches, this.maxDataBytes), now);
  }

  async eventList(params: { sessionId: number; afterSeq?: number; limit?: number }): Promise<SessionEvent[]> {
    const args = normalizeEventList(params);
    return this.run(() => (this.stmts.eventsAfter.all(args) as EventRow[]).map(rowToEvent));
  }

  async eventTail(params: { afterId: number; sessionId?: number; limit?: number }): Promise<SessionEvent[]> {
    const { afterId, sessionId, limit } = normalizeEventTail(params);
    if (sessionId === null) return this.run(() => (this.stmts.tailAll.all({ afterId, limit }) as EventRow[]).map(rowToEvent));
    return this.run(() => (this.stmts.tailOne.all({ sessionId, afterId, limit }) as EventRow[]).map(rowToEvent));
  }

  async eventHead(): Promise<number> {
    return this.run(() => (this.stmts.head.get() as { id: number | null }).id ?? 0);
  }

  async defaultsGet(): Promise<SessionSettings> {
    const row = this.run(() => this.stmts.defaultsGet.get() as { settings: string } | undefined);
    return row === undefined ? {} : JSON.parse(row.settings) as SessionSettings;
  }

  async defaultsSet(params: { settings: SessionSettings; now: number }): Promise<SessionSettings> {
    const now = validateNow(params.now);
    const settings = normalizeDefaults(params.settings);
    await this.write(() => this.stmts.defaultsSet.run({ settings, now }));
    return JSON.parse(settings) as SessionSettings;
  }

  async approvalCreate(params: { approval: NewApproval; now: number }): Promise<Approval> {
    const now = validateNow(params.now);
    const a = normalizeNewApproval(params.approval, this.maxDataBytes);
    return this.write(() => {
      // The session first: a request for a missing one writes nothing.
      if (this.stmts.pendingRecount.run({ id: a.sessionId, now }).changes === 0) throw new NotFoundError('session', a.sessionId);
      const row = this.stmts.approvalInsert.get({ ...a, now }) as ApprovalRow;
      this.stmts.pendingRecount.run({ id: a.sessionId, now });
      return rowToApproval(row);
    });
  }

  async approvalGet(params: { id: number }): Promise<Approval | null> {
    const id = validateId(params.id);
    const row = this.run(() => this.stmts.approvalById.get(id) as ApprovalRow | undefined);
    return row === undefined ? null : rowToApproval(row);
  }

  async approvalList(params: { sessionId?: number; status?: ApprovalState; limit?: number }): Promise<Approval[]> {
    const { sessionId, status, limit } = normalizeApprovalList(params);
    const rows = this.run(() => (sessionId !== null ? this.stmts.approvalsOfSession.all({ sessionId, status, limit })
      : status === 'pending' ? this.stmts.approvalsPending.all({ limit })
        : this.stmts.approvalsAll.all({ status, limit })) as ApprovalRow[]);
    return rows.map(rowToApproval);
  }

  async approvalAnswer(params: { id: number; answer: ApprovalAnswer; now: number }): Promise<Approval> {
    const id = validateId(params.id);
    const now = validateNow(params.now);
    const answer = normalizeApprovalAnswer(params.answer);
    return this.write(() => {
      const row = this.stmts.approvalAnswer.get({ id, ...answer, now }) as ApprovalRow | undefined;
      if (row === undefined) {
        const current = this.stmts.approvalById.get(id) as ApprovalRow | undefined;
        if (current === undefined) throw new NotFoundError('approval', id);
        throw new StateConflictError(approvalClosedMessage(rowToApproval(current)));
      }
      this.stmts.pendingRecount.run({ id: row.session_id, now });
      return rowToApproval(row);
    });
  }

  async approvalCloseAll(params: { sessionId: number; answer: ApprovalAnswer; now: number }): Promise<Approval[]> {
    const sessionId = validateId(params.sessionId, 'sessionId');
    const now = validateNow(params.now);
    const { status, message } = normalizeApprovalClose(params.answer);
    return this.write(() => {
      const rows = this.stmts.approvalCloseAll.all({ sessionId, status, message, now }) as ApprovalRow[];
      if (rows.length > 0) this.stmts.pendingRecount.run({ id: sessionId, now });
      return rows.map(rowToApproval).sort((x, y) => x.id - y.id);
    });
  }
}
