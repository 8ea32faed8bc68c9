/**
 * The PostgreSQL SessionStore: sessions and their event logs, in the job store's schema and pool.
 *
 * Event appends from every process serialise on one advisory lock per schema, so event ids are
 * handed out in commit order: a live stream that resumes after the last id it delivered never
 * skips an event another host committed later with a lower id.
 */
import type { PoolClient, QueryResultRow } from 'pg';
import type { Approval, ApprovalAnswer, ApprovalState, NewApproval, NewSession, Session, SessionSettings, SessionEvent, SessionListResult, SessionPatch, SessionStore, SessionTotals } from '../session-contract.js';
import { NotFoundError, StateConflictError } from '../errors.js';
import {
  LIMITS, validateId, validateInteger, validateNow, validateText, validateTime, approvalClosedMessage, normalizeApprovalAnswer, normalizeApprovalClose, normalizeApprovalList, normalizeDefaults, normalizeNewApproval, normalizeBatches, normalizeEventList, normalizeEventTail, normalizeEvents, normalizeLastPrompts, normalizeNewSession, normalizeSessionList, normalizeSessionPatch, type NormalizedBatch,
} from '../validation.js';
import { PATCH_COLUMNS, rowToApproval, type ApprovalRow, rowToEvent, rowToSession, sessionPage, sessionTotals, type EventRow, type SessionRow, type SessionTotalsRow } from '../rows.js';
import { prepared } from './connection.js';
import { SESSION_SQL } from './sessions.sql.js';


export interface PostgresSessionStoreOptions {
  query: <R extends QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;
  transaction: <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;
  maxDataBytes: number;
  schema: string;
}

export class PostgresSessionStore implements SessionStore {
  constructor(private readonly db: PostgresSessionStoreOptions) {}

  async sessionCreate(params: { session: NewSession; now: number }): Promise<Session> {
    const now = validateNow(params.now);
    const s = normalizeNewSession(params.session);
    const [row] = await this.db.query<SessionRow>(SESSION_SQL.insert, [s.title, s.projectPath, s.provider, s.settings, now, s.worktree]);
    return rowToSession(row as SessionRow);
  }

  async sessionGet(params: { id: number }): Promise<Session | null> {
    const id = validateId(params.id);
    const [row] = await this.db.query<SessionRow>(SESSION_SQL.byId, [id]);
    return row === undefined ? null : rowToSession(row);
  }

  async sessionList(params: { archived?: boolean; limit?: number; cursor?: string | null } = {}): Promise<SessionListResult> {
    const { archived, limit, afterActivity, afterId } = normalizeSessionList(params);
    return sessionPage(await this.db.query<SessionRow>(SESSION_SQL.page, [archived, afterActivity, afterId, limit + 1]), limit);
  }

  async sessionUpdate(params: { id: number; patch: SessionPatch; now: number }): Promise<Session> {
    const id = validateId(params.id);
    const now = validateNow(params.now);
    const values = normalizeSessionPatch(params.patch);
    const keys = Object.keys(values).sort() as (keyof SessionPatch)[];
    const sets = keys.map((k, i) => `${PATCH_COLUMNS[k]} = $${i + 3}`).concat('updated_at = $2');
    const [row] = await this.db.query<SessionRow>(`UPDATE sessions SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, [id, now, ...keys.map((k) => values[k])]);
    if (row === undefined) throw new NotFoundError('session', id);
    return rowToSession(row);
  }

  async sessionStale(params: { groupPrefix: string }): Promise<Session[]> {
    const prefix = validateText('groupPrefix', params.groupPrefix, 100);
    return (await this.db.query<SessionRow>(SESSION_SQL.stale, [prefix])).map(rowToSession);
  }

  async sessionDelete(params: { id: number }): Promise<boolean> {
    const id = validateId(params.id);
    return (await this.db.query(SESSION_SQL.delete, [id])).length === 1;
  }

  async sessionCleanup(params: { before: number; groupPrefix: string; limit: number }): Promise<number> {
    const before = validateTime('before', params.before);
    const prefix = validateText('groupPrefix', params.groupPrefix, 100);
    const limit = validateInteger('limit', params.limit, 1, LIMITS.batchMax);
    return (await this.db.query(SESSION_SQL.cleanup, [before, prefix, limit])).length;
  }

  async sessionTotals(): Promise<SessionTotals> {
    return sessionTotals(await this.db.query<SessionTotalsRow>(SESSION_SQL.totals));
  }

  async eventLastPrompts(params: { sessionId: number; limit?: number }): Promise<SessionEvent[]> {
    const { sessionId, limit } = normalizeLastPrompts(params);
    return (await this.db.query<EventRow>(SESSION_SQL.lastPrompts, [sessionId, limit])).map(rowToEvent);
  }

  /**
   * Write validated batches in one transaction of four statements however many sessions they
   * touch; sessions that do not exist are reported, not written.
   */
  private appendBatches(batches: NormalizedBatch[], now: number): Promise<{ written: SessionEvent[][]; missing: number[] }> {
    // Per session: how many events in all, and its last preview (batches of one session apply in order).
    const totals = new Map<number, { n: number; preview: string | null }>();
    for (const b of batches) {
      const t = totals.get(b.sessionId) ?? { n: 0, preview: null };
      t.n += b.events.length;
      if (b.preview !== null) t.preview = b.preview;
      totals.set(b.sessionId, t);
    }
    return this.db.transaction(async (client) => {
      await client.query(prepared(SESSION_SQL.appendLock, [`agentq.events.${this.db.schema}`]));
      const ids = [...totals.keys()];
      const { rows: reserved } = await client.query<{ id: number; last_seq: number }>(prepared(SESSION_SQL.reserveSeqs, [
        ids, ids.map((id) => (totals.get(id) as { n: number }).n), ids.map((id) => (totals.get(id) as { preview: string | null }).preview), now,
      ]));
      // The next seq to hand out per existing session.
      const next = new Map(reserved.map((r) => [r.id, r.last_seq - (totals.get(r.id) as { n: number }).n + 1]));
      const rows: { sessionId: number; seq: number; type: string; json: string }[] = [];
      const seqs = batches.map((b) => {
        const first = next.get(b.sessionId);
        if (first === undefined) return null;
        next.set(b.sessionId, first + b.events.length);
        for (const [i, e] of b.events.entries()) rows.push({ sessionId: b.sessionId, seq: first + i, type: e.type, json: e.json });
        return first;
      });
      const { rows: inserted } = rows.length === 0 ? { rows: [] } : await client.query<{ id: number; session_id: number; seq: number }>(prepared(SESSION_SQL.eventsInsert, [
        rows.map((r) => r.sessionId), rows.map((r) => r.seq), rows.map((r) => r.type), rows.map((r) => r.json), now,
      ]));
      const idOf = new Map(inserted.map((r) => [`${String(r.session_id)}:${String(r.seq)}`, r.id]));
      const missing: number[] = [];
      // The payloads as given: their JSON text is what was stored.
      const written = batches.map((b, bi) => {
        const first = seqs[bi];
        if (first === null || first === undefined) {
          missing.push(b.sessionId);
          return [];
        }
        return b.events.map((e, i) => ({
          id: idOf.get(`${String(b.sessionId)}:${String(first + i)}`) as number, sessionId: b.sessionId, seq: first + i, type: e.type, payload: e.payload, createdAt: now,
        }));
      });
      return { written, missing };
    });
  }

  async eventAppend(params: { sessionId: number; events: { type: string; payload: unknown }[]; now: number }): Promise<SessionEvent[]> {
    const sessionId = validateId(params.sessionId, 'sessionId');
    const now = validateNow(params.now);
    const events = normalizeEvents(params.events, '', this.db.maxDataBytes);
    const { written, missing } = await this.appendBatches([{ sessionId, preview: null, events }], now);
    if (missing.length > 0) throw new NotFoundError('session', sessionId);
    return written[0] as SessionEvent[];
  }

  async eventAppendMany(params: { batches: { sessionId: number; events: { type: string; payload: unknown }[]; preview?: string }[]; now: number }): Promise<{ written: SessionEvent[][]; missing: number[] }> {
    const now = validateNow(params.now);
    return this.appendBatches(normalizeBatches(params.batches, this.db.maxDataBytes), now);
  }

  async eventList(params: { sessionId: number; afterSeq?: number; limit?: number }): Promise<SessionEvent[]> {
    const { sessionId, afterSeq, limit } = normalizeEventList(params);
    return (await this.db.query<EventRow>(SESSION_SQL.eventsAfter, [sessionId, afterSeq, limit])).map(rowToEvent);
  }

  async eventTail(params: { afterId: number; sessionId?: number; limit?: number }): Promise<SessionEvent[]> {
    const { afterId, sessionId, limit } = normalizeEventTail(params);
    const rows = sessionId === null
      ? await this.db.query<EventRow>(SESSION_SQL.tailAll, [afterId, limit])
      : await this.db.query<EventRow>(SESSION_SQL.tailOne, [sessionId, afterId, limit]);
    return rows.map(rowToEvent);
  }

  async eventHead(): Promise<number> {
    const [row] = await this.db.query<{ id: number }>(SESSION_SQL.head);
    return (row as { id: number }).id;
  }

  async defaultsGet(): Promise<SessionSettings> {
    const [row] = await this.db.query<{ settings: string }>(SESSION_SQL.defaultsGet);
    return row === undefined ? {} : JSON.parse(row.settings) as SessionSettings;
  }

  async defaultsSet(params: { settings: SessionSettings; now: number }): Promise<SessionSettings> {
    const now = validateNow(params.now);
    const settings = normalizeDefaults(params.settings);
    await this.db.query(SESSION_SQL.defaultsSet, [settings, now]);
    return JSON.parse(settings) as SessionSettings;
  }

  async approvalCreate(params: { approval: NewApproval; now: number }): Promise<Approval> {
    const now = validateNow(params.now);
    const a = normalizeNewApproval(params.approval, this.db.maxDataBytes);
    return this.db.transaction(async (client) => {
      // The session row first (locked, so counts of concurrent requests stay exact); a missing one writes nothing.
      const { rows: found } = await client.query(prepared(SESSION_SQL.pendingRecount, [a.sessionId, now]));
      if (found.length === 0) throw new NotFoundError('session', a.sessionId);
      const { rows: [row] } = await client.query<ApprovalRow>(prepared(SESSION_SQL.approvalInsert, [a.sessionId, a.jobId, a.toolUseId, a.tool, a.input, a.reason, now]));
      await client.query(prepared(SESSION_SQL.pendingRecount, [a.sessionId, now]));
      return rowToApproval(row as ApprovalRow);
    });
  }

  async approvalGet(params: { id: number }): Promise<Approval | null> {
    const id = validateId(params.id);
    const [row] = await this.db.query<ApprovalRow>(SESSION_SQL.approvalById, [id]);
    return row === undefined ? null : rowToApproval(row);
  }

  async approvalList(params: { sessionId?: number; status?: ApprovalState; limit?: number }): Promise<Approval[]> {
    const { sessionId, status, limit } = normalizeApprovalList(params);
    const rows = sessionId === null
      ? await this.db.query<ApprovalRow>(SESSION_SQL.approvalsAll, [status, limit])
      : await this.db.query<ApprovalRow>(SESSION_SQL.approvalsOfSession, [sessionId, status, limit]);
    return rows.map(rowToApproval);
  }

  async approvalAnswer(params: { id: number; answer: ApprovalAnswer; now: number }): Promise<Approval> {
    const id = validateId(params.id);
    const now = validateNow(params.now);
    const answer = normalizeApprovalAnswer(params.answer);
    return this.db.transaction(async (client) => {
      const { rows: [row] } = await client.query<ApprovalRow>(prepared(SESSION_SQL.approvalAnswer, [id, answer.status, answer.scope, answer.rule, answer.message, now]));
      if (row === undefined) {
        const { rows: [current] } = await client.query<ApprovalRow>(prepared(SESSION_SQL.approvalById, [id]));
        if (current === undefined) throw new NotFoundError('approval', id);
        throw new StateConflictError(approvalClosedMessage(rowToApproval(current)));
      }
      await client.query(prepared(SESSION_SQL.pendingRecount, [row.session_id, now]));
      return rowToApproval(row);
    });
  }

  async approvalCloseAll(params: { sessionId: number; answer: ApprovalAnswer; now: number }): Promise<Approval[]> {
    const sessionId = validateId(params.sessionId, 'sessionId');
    const now = validateNow(params.now);
    const { status, message } = normalizeApprovalClose(params.answer);
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<ApprovalRow>(prepared(SESSION_SQL.approvalCloseAll, [sessionId, status, message, now]));
      if (rows.length > 0) await client.query(prepared(SESSION_SQL.pendingRecount, [sessionId, now]));
      return rows.map(rowToApproval).sort((x, y) => x.id - y.id);
    });
  }
}
