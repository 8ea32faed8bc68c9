/* The contract is async so that networked backends fit; this one does its work synchronously. */
/* eslint-disable @typescript-eslint/require-await */
/**
 * The SQLite SessionStore: sessions and their event logs, on the job store's connection.
 */
import type { Statement } from 'better-sqlite3';
import type { NewSession, Session, SessionEvent, SessionListResult, SessionPatch, SessionSettings, SessionState, SessionStore } from '../session-contract.js';
import { PERMISSION_MODES, SESSION_STATE_LIST } from '../session-contract.js';
import { NotFoundError, ValidationError } from '../errors.js';
import {
  LIMITS, decodeCursor, describe, encodeCursor, serializeJson, validateId, validateInteger, validateLimit, validateNow,
  validateOptionalText, validateText,
} from '../validation.js';
import type { SqliteDatabase } from './database.js';
import { translateSqliteError } from './database.js';

const SESSION_SQL = {
  insert: `
-- Create a session. Params: @title @projectPath @provider @settings @now. Returns: changes and lastInsertRowid.
INSERT INTO sessions (title, project_path, provider, settings, created_at, updated_at, last_activity_at)
VALUES (@title, @projectPath, @provider, @settings, @now, @now, @now)`,
  byId: `
-- One session. Params: ? id. Returns: the row or nothing.
SELECT * FROM sessions WHERE id = ?`,
  page: `
-- A page of sessions, newest activity first, after a cursor. Params: @archived @afterActivity @afterId @limit. Returns: rows.
SELECT * FROM sessions INDEXED BY sessions_activity
WHERE archived = @archived AND (last_activity_at, id) < (@afterActivity, @afterId)
ORDER BY last_activity_at DESC, id DESC LIMIT @limit`,
  reserveSeq: `
-- Reserve n seqs for a session's events. Params: @id @n @now. Returns: changes 0 if the session is missing.
UPDATE sessions SET last_seq = last_seq + @n, last_activity_at = @now, updated_at = @now WHERE id = @id`,
  lastSeq: `
-- A session's newest seq. Params: ? id. Returns: last_seq.
SELECT last_seq FROM sessions WHERE id = ?`,
  eventInsert: `
-- Append one event. Params: @sessionId @seq @type @payload @now. Returns: nothing.
INSERT INTO events (session_id, seq, type, payload, created_at) VALUES (@sessionId, @seq, @type, @payload, @now)`,
  previewSet: `
-- Set a session's preview. Params: @id @preview @now. Returns: nothing.
UPDATE sessions SET preview = @preview, updated_at = @now WHERE id = @id`,
  stale: `
-- Sessions 'processing' without a running job, or 'queued' without a queued or running one. Params: @prefix. Returns: rows.
SELECT s.* FROM sessions AS s INDEXED BY sessions_busy
WHERE s.status IN ('queued', 'processing')
  AND NOT EXISTS (SELECT 1 FROM jobs AS j INDEXED BY jobs_group_id WHERE j.group_key = @prefix || s.id
                  AND (j.status = 'running' OR (j.status = 'queued' AND s.status = 'queued')))`,
  lastPrompts: `
-- A session's newest prompts. Params: @sessionId @limit. Returns: rows, newest first.
SELECT * FROM events INDEXED BY events_prompts WHERE session_id = @sessionId AND type = 'user_prompt' ORDER BY seq DESC LIMIT @limit`,
  eventsAfter: `
-- Events after a seq, oldest first (primary-key range). Params: @sessionId @afterSeq @limit. Returns: rows.
SELECT * FROM events WHERE session_id = @sessionId AND seq > @afterSeq ORDER BY seq LIMIT @limit`,
  tailAll: `
-- Events of all sessions after a stream position (primary-key range). Params: @afterId @limit. Returns: rows.
SELECT * FROM events WHERE id > @afterId ORDER BY id LIMIT @limit`,
  tailOne: `
-- One session's events after a stream position (its seq order is its id order). Params: @sessionId @afterId @limit. Returns: rows.
SELECT * FROM events INDEXED BY events_session_seq WHERE session_id = @sessionId AND id > @afterId ORDER BY seq LIMIT @limit`,
  head: `
-- The newest event id. Params: none. Returns: id (null when empty).
SELECT max(id) AS id FROM events`,
} as const;

type EventRow = { id: number; session_id: number; seq: number; type: string; payload: string; created_at: number };

function rowToEvent(r: EventRow): SessionEvent {
  return { id: r.id, sessionId: r.session_id, seq: r.seq, type: r.type, payload: JSON.parse(r.payload) as unknown, createdAt: r.created_at };
}

const PATCH_COLUMNS: Record<keyof SessionPatch, string> = {
  title: 'title', status: 'status', agentSessionId: 'agent_session_id', agentCwd: 'agent_cwd', costUsd: 'cost_usd',
  inputTokens: 'input_tokens', outputTokens: 'output_tokens', preview: 'preview', error: 'error', archived: 'archived',
};

interface SessionRow {
  id: number; title: string; project_path: string; provider: string; status: SessionState; agent_session_id: string | null;
  agent_cwd: string | null; settings: string; cost_usd: number; input_tokens: number; output_tokens: number; last_seq: number;
  preview: string | null; error: string | null; archived: number; created_at: number; updated_at: number; last_activity_at: number;
}

interface NormalizedEvent {
  type: string;
  payload: unknown;
  /** The payload's JSON text, as stored. */
  json: string;
}

function rowToSession(r: SessionRow): Session {
  return {
    id: r.id, title: r.title, projectPath: r.project_path, provider: r.provider, status: r.status, agentSessionId: r.agent_session_id,
    agentCwd: r.agent_cwd, settings: JSON.parse(r.settings) as SessionSettings, costUsd: r.cost_usd, inputTokens: r.input_tokens,
    outputTokens: r.output_tokens, lastSeq: r.last_seq, preview: r.preview, error: r.error, archived: r.archived === 1,
    createdAt: r.created_at, updatedAt: r.updated_at, lastActivityAt: r.last_activity_at,
  };
}

const bad = (field: string, expected: string, value: unknown): never => {
  throw new ValidationError(field, `must be ${expected} (got ${describe(value)})`);
};

/** Validate session settings; unknown keys are refused so that typos do not pass silently. */
export function validateSessionSettings(value: unknown, field = 'settings'): SessionSettings {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(field, 'an object', value);
  const s = value as Record<string, unknown>;
  const out: SessionSettings = {};
  for (const key of Object.keys(s)) {
    const v = s[key];
    if (v === undefined) continue;
    switch (key) {
      case 'model': out.model = validateText(`${field}.model`, v, 200); break;
      case 'transcript': out.transcript = validateText(`${field}.transcript`, v, 200); break;
      case 'permissionMode':
        if (!(PERMISSION_MODES as readonly unknown[]).includes(v)) bad(`${field}.permissionMode`, `one of ${PERMISSION_MODES.join(', ')}`, v);
        out.permissionMode = v as SessionSettings['permissionMode'];
        break;
      case 'maxTurns': out.maxTurns = validateInteger(`${field}.maxTurns`, v, 1, 10_000); break;
      case 'maxBudgetUsd':
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100_000) bad(`${field}.maxBudgetUsd`, 'a number of dollars above 0', v);
        out.maxBudgetUsd = v as number;
        break;
      case 'messagesPerSecond':
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 100_000) bad(`${field}.messagesPerSecond`, 'a positive number', v);
        out.messagesPerSecond = v as number;
        break;
      default:
        throw new ValidationError(`${field}.${key}`, 'is not a setting; use model, permissionMode, maxTurns, maxBudgetUsd, transcript or messagesPerSecond');
    }
  }
  return out;
}

export class SqliteSessionStore implements SessionStore {
  private readonly stmts: Record<keyof typeof SESSION_SQL, Statement>;
  private readonly updates = new Map<string, Statement>();
  private readonly tx: { immediate: <T>(fn: () => T) => T };

  constructor(private readonly db: SqliteDatabase, private readonly maxDataBytes: number = LIMITS.defaultMaxDataBytes) {
    this.stmts = Object.fromEntries(Object.entries(SESSION_SQL).map(([k, sql]) => [k, db.prepare(sql)])) as Record<keyof typeof SESSION_SQL, Statement>;
    // One wrapper for the store's lifetime: making one per call costs more than a small write.
    const tx = db.transaction((fn: () => unknown) => fn());
    this.tx = { immediate: <T>(fn: () => T): T => tx.immediate(fn) as T };
  }

  private run<T>(fn: () => T, write = false): T {
    try {
      return write ? this.tx.immediate(fn) : fn();
    } catch (err) {
      throw translateSqliteError(err);
    }
  }

  async sessionCreate(params: { session: NewSession; now: number }): Promise<Session> {
    const now = validateNow(params.now);
    const input = params.session as unknown;
    if (typeof input !== 'object' || input === null) bad('session', 'an object with at least projectPath', input);
    const s = input as NewSession;
    const projectPath = validateText('projectPath', s.projectPath, 4_096);
    const provider = s.provider === undefined ? 'claude' : validateText('provider', s.provider, 64);
    const title = s.title === undefined ? projectPath.split(/[\\/]/).filter(Boolean).at(-1) ?? projectPath : validateText('title', s.title, 500);
    const settings = serializeJson('settings', validateSessionSettings(s.settings), 16_384);
    return this.run(() => {
      const info = this.stmts.insert.run({ title, projectPath, provider, settings, now });
      return rowToSession(this.stmts.byId.get(Number(info.lastInsertRowid)) as SessionRow);
    }, true);
  }

  async sessionGet(params: { id: number }): Promise<Session | null> {
    const id = validateId(params.id);
    const row = this.run(() => this.stmts.byId.get(id) as SessionRow | undefined);
    return row === undefined ? null : rowToSession(row);
  }

  async sessionList(params: { archived?: boolean; limit?: number; cursor?: string | null } = {}): Promise<SessionListResult> {
    if (params.archived !== undefined && typeof params.archived !== 'boolean') bad('archived', 'true or false', params.archived);
    const limit = params.limit === undefined ? LIMITS.listLimitDefault : validateLimit(params.limit);
    const [afterActivity, afterId] = params.cursor === undefined || params.cursor === null ? [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : decodeCursor(params.cursor);
    const rows = this.run(() => this.stmts.page.all({ archived: params.archived === true ? 1 : 0, afterActivity, afterId, limit: limit + 1 }) as SessionRow[]);
    const page = rows.slice(0, limit).map(rowToSession);
    const last = page.at(-1);
    return { sessions: page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.lastActivityAt, last.id) : null };
  }

  async sessionUpdate(params: { id: number; patch: SessionPatch; now: number }): Promise<Session> {
    const id = validateId(params.id);
    const now = validateNow(params.now);
    const patch = params.patch as unknown;
    if (typeof patch !== 'object' || patch === null) bad('patch', 'an object', patch);
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
      if (value === undefined) continue;
      switch (key as keyof SessionPatch) {
        case 'status':
          if (!(SESSION_STATE_LIST as readonly unknown[]).includes(value)) bad('status', `one of ${SESSION_STATE_LIST.join(', ')}`, value);
          values.status = value;
          break;
        case 'title': values.title = validateText('title', value, 500); break;
        case 'agentSessionId': values.agentSessionId = validateOptionalText('agentSessionId', value, 200); break;
        case 'agentCwd': values.agentCwd = validateOptionalText('agentCwd', value, 4_096); break;
        case 'preview': values.preview = value === null ? null : typeof value === 'string' ? value.slice(0, 500) : bad('preview', 'null or a string', value); break;
        case 'error': values.error = value === null ? null : typeof value === 'string' ? value.slice(0, 8_192) : bad('error', 'null or a string', value); break;
        case 'costUsd':
          if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) bad('costUsd', 'a number of dollars >= 0', value);
          values.costUsd = value;
          break;
        case 'inputTokens': case 'outputTokens': values[key] = validateInteger(key, value, 0, Number.MAX_SAFE_INTEGER); break;
        case 'archived':
          if (typeof value !== 'boolean') bad('archived', 'true or false', value);
          values.archived = value ? 1 : 0;
          break;
        default:
          throw new ValidationError(`patch.${key}`, 'cannot be changed; see SessionPatch for what can');
      }
    }
    const keys = Object.keys(values).sort() as (keyof SessionPatch)[];
    const sql = `UPDATE sessions SET ${keys.map((k) => `${PATCH_COLUMNS[k]} = @${k}`).concat('updated_at = @now').join(', ')} WHERE id = @id`;
    let stmt = this.updates.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.updates.set(sql, stmt);
    }
    const update = stmt;
    return this.run(() => {
      if (update.run({ ...values, id, now }).changes === 0) throw new NotFoundError('session', id);
      return rowToSession(this.stmts.byId.get(id) as SessionRow);
    }, true);
  }

  async sessionStale(params: { groupPrefix: string }): Promise<Session[]> {
    const prefix = validateText('groupPrefix', params.groupPrefix, 100);
    return this.run(() => (this.stmts.stale.all({ prefix }) as SessionRow[]).map(rowToSession));
  }

  async eventLastPrompts(params: { sessionId: number; limit?: number }): Promise<SessionEvent[]> {
    const sessionId = validateId(params.sessionId, 'sessionId');
    const limit = params.limit === undefined ? 10 : validateLimit(params.limit, 'limit', 1_000);
    return this.run(() => (this.stmts.lastPrompts.all({ sessionId, limit }) as EventRow[]).map(rowToEvent));
  }

  /** Reserve `n` seqs (inside a write transaction); returns the new last seq, or null if no such session. */
  private reserve(id: number, n: number, now: number): number | null {
    if (this.stmts.reserveSeq.run({ id, n, now }).changes === 0) return null;
    return (this.stmts.lastSeq.get(id) as { last_seq: number }).last_seq;
  }

  /** Validate events; field names are prefixed with `at` (e.g. `batches[2].`). */
  private normalizeEvents(events: unknown, at: string): NormalizedEvent[] {
    if (!Array.isArray(events) || events.length === 0 || events.length > LIMITS.batchMax) {
      bad(`${at}events`, `an array of 1 to ${LIMITS.batchMax} events`, events);
    }
    return (events as { type?: unknown; payload?: unknown }[]).map((e, i) => ({
      type: validateText(`${at}events[${i}].type`, (e as { type?: unknown } | null)?.type, 100),
      payload: e.payload,
      json: serializeJson(`${at}events[${i}].payload`, e.payload, this.maxDataBytes),
    }));
  }

  /** Write validated batches in one transaction; sessions that do not exist are reported, not written. */
  private appendBatches(batches: { sessionId: number; preview: string | null; events: NormalizedEvent[] }[], now: number): { written: SessionEvent[][]; missing: number[] } {
    return this.run(() => {
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
          const id = Number(this.stmts.eventInsert.run({ sessionId: b.sessionId, seq: first + i, type: e.type, payload: e.json, now }).lastInsertRowid);
          // The payload as given: its JSON text is what was stored; parsing it back would double the work.
          return { id, sessionId: b.sessionId, seq: first + i, type: e.type, payload: e.payload, createdAt: now };
        }));
        if (b.preview !== null) this.stmts.previewSet.run({ id: b.sessionId, preview: b.preview, now });
      }
      return { written, missing };
    }, true);
  }

  async eventAppend(params: { sessionId: number; events: { type: string; payload: unknown }[]; now: number }): Promise<SessionEvent[]> {
    const sessionId = validateId(params.sessionId, 'sessionId');
    const now = validateNow(params.now);
    const events = this.normalizeEvents(params.events, '');
    const { written, missing } = this.appendBatches([{ sessionId, preview: null, events }], now);
    if (missing.length > 0) throw new NotFoundError('session', sessionId);
    return written[0] as SessionEvent[];
  }

  async eventAppendMany(params: { batches: { sessionId: number; events: { type: string; payload: unknown }[]; preview?: string }[]; now: number }): Promise<{ written: SessionEvent[][]; missing: number[] }> {
    const now = validateNow(params.now);
    if (!Array.isArray(params.batches)) bad('batches', 'an array of { sessionId, events }', params.batches);
    const batches = params.batches.map((b, i) => ({
      sessionId: validateId(b.sessionId, `batches[${i}].sessionId`),
      preview: b.preview === undefined ? null : validateText(`batches[${i}].preview`, b.preview, 100_000).slice(0, 500),
      events: this.normalizeEvents(b.events, `batches[${i}].`),
    }));
    return this.appendBatches(batches, now);
  }

  async eventList(params: { sessionId: number; afterSeq?: number; limit?: number }): Promise<SessionEvent[]> {
    const sessionId = validateId(params.sessionId, 'sessionId');
    const afterSeq = params.afterSeq === undefined ? 0 : validateInteger('afterSeq', params.afterSeq, 0, Number.MAX_SAFE_INTEGER);
    const limit = params.limit === undefined ? 500 : validateLimit(params.limit, 'limit', 5_000);
    return this.run(() => (this.stmts.eventsAfter.all({ sessionId, afterSeq, limit }) as EventRow[]).map(rowToEvent));
  }

  async eventTail(params: { afterId: number; sessionId?: number; limit?: number }): Promise<SessionEvent[]> {
    const afterId = validateInteger('afterId', params.afterId, 0, Number.MAX_SAFE_INTEGER);
    const limit = params.limit === undefined ? 500 : validateLimit(params.limit, 'limit', 5_000);
    if (params.sessionId === undefined) return this.run(() => (this.stmts.tailAll.all({ afterId, limit }) as EventRow[]).map(rowToEvent));
    const sessionId = validateId(params.sessionId, 'sessionId');
    return this.run(() => (this.stmts.tailOne.all({ sessionId, afterId, limit }) as EventRow[]).map(rowToEvent));
  }

  async eventHead(): Promise<number> {
    return this.run(() => (this.stmts.head.get() as { id: number | null }).id ?? 0);
  }
}
