/**
 * Every SQL statement of the PostgreSQL session store (sessions, their event logs, approvals and
 * defaults). Each starts with one line saying what it does, its parameters and what it returns.
 * The keys mirror those of the other backend's sessions.sql.ts.
 */
export const SESSION_SQL = {
  insert: `
-- Create a session. Params: $1 title, $2 project path, $3 provider, $4 settings, $5 now, $6 worktree. Returns: the row.
INSERT INTO sessions (title, project_path, provider, settings, worktree, created_at, updated_at, last_activity_at)
VALUES ($1, $2, $3, $4::text::json, $6, $5, $5, $5) RETURNING *`,
  byId: `
-- One session. Params: $1 id. Returns: the row or nothing.
SELECT * FROM sessions WHERE id = $1`,
  page: `
-- A page of sessions, newest activity first, after a cursor. Params: $1 archived, $2 after activity, $3 after id, $4 limit. Returns: rows.
SELECT * FROM sessions WHERE archived = $1 AND (last_activity_at, id) < ($2::bigint, $3::bigint)
ORDER BY last_activity_at DESC, id DESC LIMIT $4`,
  appendLock: `
-- Serialise event appends of every process, so ids follow commit order. Params: $1 lock name. Returns: nothing useful.
SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
  reserveSeqs: `
-- Reserve seqs for the events of many sessions and set their previews when given. Params: $1 session ids (distinct), $2 counts, $3 previews (NULL keeps), $4 now. Returns: id and the new last_seq of each session that exists.
UPDATE sessions s SET last_seq = s.last_seq + b.n, last_activity_at = $4, updated_at = $4, preview = coalesce(b.preview, s.preview)
FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS b(id, n, preview)
WHERE s.id = b.id
RETURNING s.id, s.last_seq`,
  eventsInsert: `
-- Append events of many sessions, in the order given (ids follow it). Params: $1 session ids, $2 seqs, $3 types, $4 payloads, $5 now. Returns: id, session_id and seq of each.
INSERT INTO events (session_id, seq, type, payload, created_at)
SELECT x.session_id, x.seq, x.type, x.payload::json, $5
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS x(session_id, seq, type, payload, ord) ORDER BY x.ord
RETURNING id, session_id, seq`,
  cleanup: `
-- Delete archived sessions idle since before a time, without a worktree or an unfinished turn. Params: $1 before, $2 group prefix, $3 limit. Returns: id of each deleted.
DELETE FROM sessions WHERE id IN (
  SELECT s.id FROM sessions AS s
  WHERE s.archived AND s.last_activity_at < $1 AND s.worktree IS NULL
    AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.group_key = $2 || s.id AND j.status IN ('waiting', 'queued', 'running'))
  ORDER BY s.last_activity_at LIMIT $3)
RETURNING id`,
  delete: `
-- Delete a session; its events and approvals go with it (foreign keys cascade). Params: $1 id. Returns: id if it existed.
DELETE FROM sessions WHERE id = $1 RETURNING id`,
  totals: `
-- Sessions by state with their summed usage. Params: none. Returns: status, n, cost_usd, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens.
SELECT status, count(*)::int AS n, sum(cost_usd)::float8 AS cost_usd, sum(input_tokens)::float8 AS input_tokens, sum(output_tokens)::float8 AS output_tokens,
  sum(cache_read_tokens)::float8 AS cache_read_tokens, sum(cache_creation_tokens)::float8 AS cache_creation_tokens
FROM sessions GROUP BY status ORDER BY status`,
  stale: `
-- Sessions 'processing' without a running job, or 'queued' without a waiting, queued or running one. Params: $1 group prefix. Returns: rows.
SELECT s.* FROM sessions AS s
WHERE s.status IN ('queued', 'processing')
  AND NOT EXISTS (SELECT 1 FROM jobs AS j WHERE j.group_key = $1 || s.id
                  AND (j.status = 'running' OR (j.status IN ('queued', 'waiting') AND s.status = 'queued')))`,
  lastPrompts: `
-- A session's newest prompts. Params: $1 session id, $2 limit. Returns: rows, newest first.
SELECT * FROM events WHERE session_id = $1 AND type = 'user_prompt' ORDER BY seq DESC LIMIT $2`,
  eventsAfter: `
-- Events after a seq, oldest first. Params: $1 session id, $2 after seq, $3 limit. Returns: rows.
SELECT * FROM events WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
  tailAll: `
-- Events of all sessions after a stream position. Params: $1 after id, $2 limit. Returns: rows.
SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2`,
  tailOne: `
-- One session's events after a stream position. Params: $1 session id, $2 after id, $3 limit. Returns: rows.
SELECT * FROM events WHERE session_id = $1 AND id > $2 ORDER BY seq LIMIT $3`,
  head: `
-- The newest event id. Params: none. Returns: id (0 when empty).
SELECT coalesce(max(id), 0) AS id FROM events`,
  defaultsGet: `
-- The default settings of new sessions. Params: none. Returns: the row or nothing.
SELECT settings FROM session_defaults WHERE id = 1`,
  defaultsSet: `
-- Replace the default settings of new sessions. Params: $1 settings, $2 now. Returns: nothing.
INSERT INTO session_defaults (id, settings, updated_at) VALUES (1, $1::text::json, $2)
ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
  approvalInsert: `
-- Record a pending approval request. Params: $1 session id, $2 job id, $3 tool use id, $4 tool, $5 input, $6 reason, $7 now. Returns: the row.
INSERT INTO approvals (session_id, job_id, tool_use_id, tool, input, reason, created_at)
VALUES ($1, $2, $3, $4, $5::text::json, $6, $7) RETURNING *`,
  approvalById: `
-- One approval request. Params: $1 id. Returns: the row or nothing.
SELECT * FROM approvals WHERE id = $1`,
  approvalAnswer: `
-- Answer a request that is still pending (the compare-and-set). Params: $1 id, $2 status, $3 scope, $4 rule, $5 message, $6 now. Returns: the row, or nothing if it was not pending.
UPDATE approvals SET status = $2, scope = $3, rule = $4, message = $5, answered_at = $6
WHERE id = $1 AND status = 'pending' RETURNING *`,
  approvalCloseAll: `
-- Close every pending request of a session. Params: $1 session id, $2 status, $3 message, $4 now. Returns: the rows closed.
UPDATE approvals SET status = $2, message = $3, answered_at = $4
WHERE session_id = $1 AND status = 'pending' RETURNING *`,
  pendingRecount: `
-- Set a session's count of pending requests from the requests themselves (locking the session row). Params: $1 id, $2 now. Returns: the id, nothing if the session is missing.
UPDATE sessions SET pending_approvals = (SELECT count(*) FROM approvals WHERE session_id = $1 AND status = 'pending'), updated_at = $2
WHERE id = $1 RETURNING id`,
  approvalsOfSession: `
-- A session's requests, oldest first, in one state or all ($2 NULL). Params: $1 session id, $2 status, $3 limit. Returns: rows.
SELECT * FROM approvals WHERE session_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY id LIMIT $3`,
  approvalsAll: `
-- Requests of every session in one state or all ($1 NULL), oldest first. Params: $1 status, $2 limit. Returns: rows.
SELECT * FROM approvals WHERE ($1::text IS NULL OR status = $1) ORDER BY id LIMIT $2`,
} as const;
