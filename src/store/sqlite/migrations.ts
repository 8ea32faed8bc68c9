/**
 * Versioned schema migrations for the SQLite backend, tracked in PRAGMA user_version. Migrations
 * only ever append: a shipped migration is never edited. Version N is applied by `migrations[N-1]`.
 */
import { JOB_STATES as S } from '../states.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /**
   * The migration rebuilds a table others reference: it runs with foreign keys off (else dropping
   * the old table would cascade to its children), then checks every reference before committing.
   */
  rebuild?: boolean;
}

const finished = `'${S.completed}', '${S.failed}', '${S.cancelled}'`;
const jobColumns = `id, type, data, status, priority, run_at, attempts, max_attempts, lease_owner, lease_token, lease_expires_at,
  progress, result, error, unique_key, group_key, timeout_ms, orphan, cancel_requested_at, created_at, updated_at, started_at, finished_at`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'jobs, job attempts, counters and throughput buckets',
    sql: `
CREATE TABLE jobs (
  id                  INTEGER PRIMARY KEY,
  type                TEXT    NOT NULL,
  data                TEXT    NOT NULL DEFAULT 'null',
  status              TEXT    NOT NULL DEFAULT '${S.queued}'
                      CHECK (status IN ('${S.queued}', '${S.running}', ${finished})),
  priority            INTEGER NOT NULL DEFAULT 0,
  run_at              INTEGER NOT NULL,
  attempts            INTEGER NOT NULL DEFAULT 0,
  max_attempts        INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  lease_owner         TEXT,
  lease_token         INTEGER NOT NULL DEFAULT 0,
  lease_expires_at    INTEGER,
  progress            TEXT,
  result              TEXT,
  error               TEXT,
  unique_key          TEXT,
  group_key           TEXT,
  timeout_ms          INTEGER,
  orphan              TEXT    NOT NULL DEFAULT 'retry' CHECK (orphan IN ('retry', 'fail')),
  cancel_requested_at INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  started_at          INTEGER,
  finished_at         INTEGER
);

-- Claim order among queued jobs: priority desc, run_at, id. Partial: finished history never slows it.
CREATE INDEX jobs_claim ON jobs (priority DESC, run_at, id) WHERE status = '${S.queued}';
-- Earliest due time (worker timers) and the count of scheduled (future) jobs.
CREATE INDEX jobs_queued_run_at ON jobs (run_at) WHERE status = '${S.queued}';
-- Rescuer: running jobs by lease expiry.
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE status = '${S.running}';
-- Group exclusivity: is a job of this group running?
CREATE INDEX jobs_running_group ON jobs (group_key) WHERE status = '${S.running}' AND group_key IS NOT NULL;
-- Unique keys are unique among active jobs only; finished jobs release their key.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key)
  WHERE unique_key IS NOT NULL AND status IN ('${S.queued}', '${S.running}');
-- Listing: by status, by type, by group (newest first via id), by creation time.
CREATE INDEX jobs_status_id ON jobs (status, id);
CREATE INDEX jobs_type_id ON jobs (type, id);
CREATE INDEX jobs_group_id ON jobs (group_key, id) WHERE group_key IS NOT NULL;
CREATE INDEX jobs_created ON jobs (created_at, id);
-- Cleanup by finish time, one partial index per finished state: queued/running rows never touch them.
CREATE INDEX jobs_completed_at ON jobs (finished_at) WHERE status = '${S.completed}';
CREATE INDEX jobs_failed_at ON jobs (finished_at) WHERE status = '${S.failed}';
CREATE INDEX jobs_cancelled_at ON jobs (finished_at) WHERE status = '${S.cancelled}';

CREATE TABLE job_attempts (
  job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  lease_token INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  worker_id   TEXT    NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  outcome     TEXT    NOT NULL DEFAULT 'running',
  error       TEXT,
  PRIMARY KEY (job_id, lease_token)
) WITHOUT ROWID;

-- Live counts per (type, status), kept by the store in the same transaction as each change (triggers
-- cost ~20 µs a row here), so stats never scan history.
CREATE TABLE job_counts (
  type   TEXT    NOT NULL,
  status TEXT    NOT NULL,
  n      INTEGER NOT NULL,
  PRIMARY KEY (type, status)
) WITHOUT ROWID;

-- Finished jobs per minute and type, kept by the store: throughput and mean times over an hour.
CREATE TABLE job_throughput (
  minute      INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  completed   INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  wait_ms_sum INTEGER NOT NULL DEFAULT 0,
  run_ms_sum  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, type)
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    description: 'recurring schedules',
    sql: `
CREATE TABLE schedules (
  name        TEXT    PRIMARY KEY,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL DEFAULT 'null',
  cron        TEXT,
  every_ms    INTEGER,
  timezone    TEXT    NOT NULL DEFAULT 'utc' CHECK (timezone IN ('utc', 'local')),
  priority    INTEGER NOT NULL DEFAULT 0,
  enabled     INTEGER NOT NULL DEFAULT 1,
  next_run_at INTEGER,
  last_run_at INTEGER,
  last_job_id INTEGER,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  CHECK ((cron IS NULL) <> (every_ms IS NULL))
) WITHOUT ROWID;

-- Due enabled schedules, earliest first.
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled = 1;
`,
  },
  {
    version: 3,
    description: 'agent sessions and their event logs',
    sql: `
CREATE TABLE sessions (
  id               INTEGER PRIMARY KEY,
  title            TEXT    NOT NULL,
  project_path     TEXT    NOT NULL,
  provider         TEXT    NOT NULL,
  status           TEXT    NOT NULL DEFAULT 'not_started',
  agent_session_id TEXT,
  agent_cwd        TEXT,
  settings         TEXT    NOT NULL DEFAULT '{}',
  cost_usd         REAL    NOT NULL DEFAULT 0,
  input_tokens     INTEGER NOT NULL DEFAULT 0,
  output_tokens    INTEGER NOT NULL DEFAULT 0,
  last_seq         INTEGER NOT NULL DEFAULT 0,
  preview          TEXT,
  error            TEXT,
  archived         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  last_activity_at INTEGER NOT NULL
);
-- The home page: live sessions by latest activity.
CREATE INDEX sessions_activity ON sessions (archived, last_activity_at DESC, id DESC);
-- The reconciler: sessions that claim to be busy.
CREATE INDEX sessions_busy ON sessions (status) WHERE status IN ('queued', 'processing');

-- Append-only log per session; seq comes from sessions.last_seq in the same transaction. A rowid
-- table (payloads are agent messages of a kilobyte or more: appends stay at the end of the b-tree)
-- with a unique (session_id, seq) index for reading a session's log after a seq.
CREATE TABLE events (
  id         INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  type       TEXT    NOT NULL,
  payload    TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_session_seq ON events (session_id, seq);
-- A session's prompts, without reading its agent messages.
CREATE INDEX events_prompts ON events (session_id, seq) WHERE type = 'user_prompt';
`,
  },
  {
    version: 4,
    description: 'queued-job indexes led by type, so a worker skips queued jobs of types it does not run',
    sql: `
-- Claims and next-due lookups read one type at a time: a queue full of jobs for other workers
-- costs nothing to skip.
DROP INDEX jobs_claim;
CREATE INDEX jobs_claim_type ON jobs (type, priority DESC, run_at, id) WHERE status = '${S.queued}';
DROP INDEX jobs_queued_run_at;
CREATE INDEX jobs_queued_type_run_at ON jobs (type, run_at) WHERE status = '${S.queued}';
`,
  },
  {
    version: 5,
    description: 'prompt-cache token totals per session',
    sql: `
ALTER TABLE sessions ADD COLUMN cache_read_tokens     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN cache_creation_tokens INTEGER NOT NULL DEFAULT 0;
`,
  },
  {
    version: 6,
    description: 'approval requests (the agent asks to use a tool, a human answers) and the default settings of new sessions',
    sql: `
-- Kept in step with the approvals table by the store, in the same transaction.
ALTER TABLE sessions ADD COLUMN pending_approvals INTEGER NOT NULL DEFAULT 0;
CREATE TABLE approvals (
  id          INTEGER PRIMARY KEY,
  session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  job_id      INTEGER,
  tool_use_id TEXT,
  tool        TEXT    NOT NULL,
  input       TEXT    NOT NULL,
  reason      TEXT,
  status      TEXT    NOT NULL DEFAULT 'pending',
  scope       TEXT,
  rule        TEXT,
  message     TEXT,
  created_at  INTEGER NOT NULL,
  answered_at INTEGER
);
-- A session's requests in order; and what waits for an answer (of one session, or of all).
CREATE INDEX approvals_session ON approvals (session_id, id);
CREATE INDEX approvals_pending ON approvals (session_id, id) WHERE status = 'pending';
CREATE INDEX approvals_pending_all ON approvals (id) WHERE status = 'pending';
-- The settings new sessions start with: one row.
CREATE TABLE session_defaults (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  settings   TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
);
`,
  },
  {
    version: 7,
    description: 'the git worktree of a session that runs in isolation',
    sql: `
-- JSON text (see SessionWorktree), or NULL: the agent works in project_path itself.
ALTER TABLE sessions ADD COLUMN worktree TEXT;
`,
  },
  {
    version: 8,
    description: 'job dependencies: the waiting state, what a job waits for, and the edges between jobs',
    rebuild: true,
    sql: `
-- SQLite cannot change a CHECK constraint in place: the jobs table is built again with 'waiting'
-- among its states (a copy of every row: about a second per 100,000 jobs, once).
CREATE TABLE jobs_new (
  id                    INTEGER PRIMARY KEY,
  type                  TEXT    NOT NULL,
  data                  TEXT    NOT NULL DEFAULT 'null',
  status                TEXT    NOT NULL DEFAULT '${S.queued}'
                        CHECK (status IN ('${S.waiting}', '${S.queued}', '${S.running}', ${finished})),
  priority              INTEGER NOT NULL DEFAULT 0,
  run_at                INTEGER NOT NULL,
  attempts              INTEGER NOT NULL DEFAULT 0,
  max_attempts          INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  lease_owner           TEXT,
  lease_token           INTEGER NOT NULL DEFAULT 0,
  lease_expires_at      INTEGER,
  progress              TEXT,
  result                TEXT,
  error                 TEXT,
  unique_key            TEXT,
  group_key             TEXT,
  timeout_ms            INTEGER,
  orphan                TEXT    NOT NULL DEFAULT 'retry' CHECK (orphan IN ('retry', 'fail')),
  cancel_requested_at   INTEGER,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  started_at            INTEGER,
  finished_at           INTEGER,
  -- Dependencies not yet completed: the job is 'waiting' while this is above zero.
  pending_dependencies  INTEGER NOT NULL DEFAULT 0,
  on_dependency_failure TEXT    NOT NULL DEFAULT 'fail' CHECK (on_dependency_failure IN ('fail', 'cancel', 'run')),
  -- 1 once some job depends on this one: only then does its end look for jobs to wake.
  has_dependents        INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new (${jobColumns}) SELECT ${jobColumns} FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

CREATE INDEX jobs_claim_type ON jobs (type, priority DESC, run_at, id) WHERE status = '${S.queued}';
CREATE INDEX jobs_queued_type_run_at ON jobs (type, run_at) WHERE status = '${S.queued}';
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE status = '${S.running}';
CREATE INDEX jobs_running_group ON jobs (group_key) WHERE status = '${S.running}' AND group_key IS NOT NULL;
-- A waiting job holds its unique key too.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key)
  WHERE unique_key IS NOT NULL AND status IN ('${S.waiting}', '${S.queued}', '${S.running}');
CREATE INDEX jobs_status_id ON jobs (status, id);
CREATE INDEX jobs_type_id ON jobs (type, id);
CREATE INDEX jobs_group_id ON jobs (group_key, id) WHERE group_key IS NOT NULL;
CREATE INDEX jobs_created ON jobs (created_at, id);
CREATE INDEX jobs_completed_at ON jobs (finished_at) WHERE status = '${S.completed}';
CREATE INDEX jobs_failed_at ON jobs (finished_at) WHERE status = '${S.failed}';
CREATE INDEX jobs_cancelled_at ON jobs (finished_at) WHERE status = '${S.cancelled}';

-- Job job_id runs after job depends_on_id. Edges are only ever made to jobs that exist already (or
-- earlier items of the same batch), so they can never form a cycle. Removing either job removes the edge.
CREATE TABLE job_dependencies (
  job_id        INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  depends_on_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  PRIMARY KEY (job_id, depends_on_id)
) WITHOUT ROWID;
-- The jobs waiting on one that just ended.
CREATE INDEX job_dependents ON job_dependencies (depends_on_id, job_id);
`,
  },
  {
    version: 9,
    description: 'operator controls per job type (paused by hand, rate limits) and the start log rate limits count',
    sql: `
-- One row per type an operator has controlled; types without a row run freely.
CREATE TABLE job_types (
  type            TEXT    PRIMARY KEY,
  paused_at       INTEGER,
  paused_by       TEXT,
  pause_reason    TEXT,
  resumed_at      INTEGER,
  resumed_by      TEXT,
  -- At most rate_max starts in any rate_window_ms, across every process.
  rate_max        INTEGER,
  rate_window_ms  INTEGER,
  updated_at      INTEGER NOT NULL,
  CHECK ((rate_max IS NULL) = (rate_window_ms IS NULL))
) WITHOUT ROWID;
-- Starts of rate-limited types within their window (older ones are pruned by the claims that count them).
CREATE TABLE job_starts (
  type       TEXT    NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE INDEX job_starts_type_at ON job_starts (type, started_at);
`,
  },
];

export const LATEST_VERSION = migrations.length;
