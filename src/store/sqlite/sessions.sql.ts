/**
 * Every SQL statement of the SQLite session store (sessions, their event logs, approvals and
 * defaults). Each starts with one line saying what it does, its parameters and what it returns.
 * The keys mirror those of the other backend's sessions.sql.ts. Limits are `LIMIT (SELECT @limit)`
 * (see jobs.sql.ts: a bare bound LIMIT makes SQLite prepare the statement again on every call).
 */
export const SESSION_SQL = {
  insert: `
-- Create a session. Params: @title @projectPath @provider @settings @worktree @now. Returns: changes and lastInsertRowid.
INSERT INTO sessions (title, project_path, provider, settings, worktree, created_at, updated_at, last_activity_at)
VALUES (@title, @projectPath, @provider, @settings, @worktree, @now, @now, @now)`,
  byId: `
-- One session. Params: ? id. Returns: the row or nothing.
SELECT * FROM sessions WHERE id = ?`,
  page: `
-- A page of sessions, newest activity first, after a cursor. Params: @archived @afterActivity @afterId @limit. Returns: rows.
SELECT * FROM sessions INDEXED BY sessions_activity
WHERE archived = @archived AND (last_activity_at, id) < (@afterActivity, @afterId)
ORDER BY last_activity_at DESC, id DESC LIMIT (SELECT @limit)`,
  reserveSeq: `
-- Reserve n seqs for a session's events. Params: @id @n @now. Returns: changes 0 if the session is missing.
UPDATE sessions SET last_seq = last_seq + @n, last_activity_at = @now, updated_at = @now WHERE id = @id`,
  lastSeq: `
-- A session's newest seq. Params: ? id. Returns: last_seq.
SELECT last_seq FROM sessions WHERE id = ?`,
  eventsInsert: `
-- Append one event. Params: @sessionId @seq @type @payload @now. Returns: nothing.
INSERT INTO events (session_id, seq, type, payload, created_at) VALUES (@sessionId, @seq, @type, @payload, @now)`,
  previewSet: `
-- Set a session's preview. Params: @id @preview @now. Returns: nothing.
UPDATE sessions SET preview = @preview, updated_at = @now WHERE id = @id`,
  cleanup: `
-- Delete archived sessions idle since before a time, without a worktree or an unfinished turn. Params: @before @prefix @limit. Returns: changes.
DELETE FROM sessions WHERE id IN (
  SELECT s.id FROM sessions AS s
  WHERE s.archived = 1 AND s.last_activity_at < @before AND s.worktree IS NULL
    AND NOT EXISTS (SELECT 1 FROM jobs AS j INDEXED BY jobs_group_id WHERE j.group_key = @prefix || s.id AND j.status IN ('waiting', 'queued', 'running'))
  ORDER BY s.last_activity_at LIMIT (SELECT @limit))`,
  delete: `
-- Delete a session; its events and approvals go with it (foreign keys cascade). Params: ? id. Returns: changes.
DELETE FROM sessions WHERE id = ?`,
  totals: `
-- Sessions by state with their summed usage. Params: none. Returns: status, n, cost_usd, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens.
SELECT status, count(*) AS n, sum(cost_usd) AS cost_usd, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
  sum(cache_read_tokens) AS cache_read_tokens, sum(cache_creation_tokens) AS cache_creation_tokens
FROM sessions GROUP BY status ORDER BY status`,
  stale: `
-- Sessions 'processing' without a running job, or 'queued' without a waiting, queued or running one. Params: @prefix. Returns: rows.
SELECT s.* FROM sessions AS s INDEXED BY sessions_busy
WHERE s.status IN ('queued', 'processing')
  AND NOT EXISTS (SELECT 1 FROM jobs AS j INDEXED BY jobs_group_id WHERE j.group_key = @prefix || s.id
                  AND (j.status = 'running' OR (j.status IN ('queued', 'waiting') AND s.status = 'queued')))`,
  lastPrompts: `
-- A session's newest prompts. Params: @sessionId @limit. Returns: rows, newest first.
SELECT * FROM events INDEXED BY events_prompts WHERE session_id = @sessionId AND type = 'user_prompt' ORDER BY seq DESC LIMIT (SELECT @limit)`,
  eventsAfter: `
-- Events after a seq, oldest first (primary-key range). Params: @sessionId @afterSeq @limit. Returns: rows.
SELECT * FROM events WHERE session_id = @sessionId AND seq > @afterSeq ORDER BY seq LIMIT (SELECT @limit)`,
  tailAll: `
-- Events of all sessions after a stream position (primary-key range). Params: @afterId @limit. Returns: rows.
SELECT * FROM events WHERE id > @afterId ORDER BY id LIMIT (SELECT @limit)`,
  tailOne: `
-- One session's events after a stream position (its seq order is its id order). Params: @sessionId @afterId @limit. Returns: rows.
SELECT * FROM events INDEXED BY events_session_seq WHERE session_id = @sessionId AND id > @afterId ORDER BY seq LIMIT (SELECT @limit)`,
  head: `
-- The newest event id. Params: none. Returns: id (null when empty).
SELECT max(id) AS id FROM events`,
  defaultsGet: `
-- The default settings of new sessions. Params: none. Returns: the row or nothing.
SELECT settings FROM session_defaults WHERE id = 1`,
  defaultsSet: `
-- Replace the default settings of new sessions. Params: @settings @now. Returns: nothing.
INSERT INTO session_defaults (id, settings, updated_at) VALUES (1, @settings, @now)
ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
  approvalInsert: `
-- Record a pending approval request. Params: @sessionId @jobId @toolUseId @tool @input @reason @now. Returns: the row.
INSERT INTO approvals (session_id, job_id, tool_use_id, tool, input, reason, created_at)
VALUES (@sessionId, @jobId, @toolUseId, @tool, @input, @reason, @now) RETURNING *`,
  approvalById: `
-- One approval request. Params: ? id. Returns: the row or nothing.
SELECT * FROM approvals WHERE id = ?`,
  approvalAnswer: `
-- Answer a request that is still pending (the compare-and-set). Params: @id @status @scope @rule @message @now. Returns: the row, or nothing if it was not pending.
UPDATE approvals SET status = @status, scope = @scope, rule = @rule, message = @message, answered_at = @now
WHERE id = @id AND status = 'pending' RETURNING *`,
  approvalCloseAll: `
-- Close every pending request of a session. Params: @sessionId @status @message @now. Returns: the rows closed.
UPDATE approvals SET status = @status, message = @message, answered_at = @now
WHERE session_id = @sessionId AND status = 'pending' RETURNING *`,
  pendingRecount: `
-- Set a session's count of pending requests from the requests themselves. Params: @id @now. Returns: changes 0 if the session is missing.
UPDATE sessions SET pending_approvals = (SELECT count(*) FROM approvals INDEXED BY approvals_pending WHERE session_id = @id AND status = 'pending'), updated_at = @now
WHERE id = @id`,
  approvalsOfSession: `
-- A session's requests, oldest first, in one state or all (@status NULL). Params: @sessionId @status @limit. Returns: rows.
SELECT * FROM approvals INDEXED BY approvals_session WHERE session_id = @sessionId AND (@status IS NULL OR status = @status) ORDER BY id LIMIT (SELECT @limit)`,
  approvalsPending: `
-- Pending requests of every session, oldest first. Params: @limit. Returns: rows.
SELECT * FROM approvals INDEXED BY approvals_pending_all WHERE status = 'pending' ORDER BY id LIMIT (SELECT @limit)`,
  approvalsAll: `
-- Requests of every session in one state or all (@status NULL), oldest first. Params: @status @limit. Returns: rows.
SELECT * FROM approvals WHERE (@status IS NULL OR status = @status) ORDER BY id LIMIT (SELECT @limit)`,
} as const;
