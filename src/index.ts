/**
 * agentq: a durable background job queue on SQLite for Node.js.
 * The public library surface; see docs/api.md.
 */
export { JOB_STATES, JOB_STATE_LIST, FINISHED_STATES, ACTIVE_STATES, ORPHAN_POLICIES, DEPENDENCY_FAILURE_POLICIES, ATTEMPT_OUTCOMES, isJobState } from './store/states.js';
export type { JobState, FinishedState, OrphanPolicy, DependencyFailurePolicy, AttemptOutcome } from './store/states.js';
export * from './store/errors.js';
export type * from './store/contract.js';
export { openDatabase, defaultDataDir, defaultDatabasePath } from './store/sqlite/database.js';
export type { OpenDatabaseOptions, Synchronous } from './store/sqlite/database.js';
export { SqliteJobStore, createSqliteStore } from './store/sqlite/store.js';
export type { SqliteJobStoreOptions } from './store/sqlite/store.js';
export { PostgresJobStore, createPostgresStore } from './store/postgres/store.js';
export type { PostgresJobStoreOptions } from './store/postgres/store.js';
export { copySqliteToPostgres } from './store/postgres/copy.js';
export { openStore, readyStore, isPostgresUrl } from './store/open.js';
export type { AgentqStore, DatabaseSpec } from './store/open.js';
export { defineJob, JobRegistry } from './queue/registry.js';
export type { JobDefinition, JobDefinitionInput, JobContext, JobHandler, JobLogger, AnyJobDefinition, DataOf, ResultOf } from './queue/registry.js';
export { DEFAULT_RETRY, retryDelay, resolveRetryPolicy } from './queue/retry.js';
export type { RetryPolicy } from './queue/retry.js';
export { JobEvents, TypedEmitter } from './queue/events.js';
export type { JobEventMap, JobEventName } from './queue/events.js';
export { JobWorker } from './queue/worker.js';
export type { JobWorkerOptions, WorkerStats, IsolationOptions } from './queue/worker.js';
export { parseCron, cronNext } from './store/cron.js';
export type { CronSchedule } from './store/cron.js';
export { restoreBackup, databaseInUse } from './store/sqlite/maintenance.js';
export type { RestoreResult } from './store/sqlite/maintenance.js';
export { maintenanceJobs, DEFAULT_RETENTION, DEFAULT_MAINTENANCE_SCHEDULES, MAINTENANCE_TYPES } from './queue/maintenance.js';
export type { MaintenanceOptions } from './queue/maintenance.js';
export { Scheduler } from './queue/scheduler.js';
export { inThread } from './queue/thread.js';
export type { ThreadOptions } from './queue/thread.js';
export { SESSION_STATES, SESSION_STATE_LIST, PERMISSION_MODES } from './store/session-contract.js';
export type { Session, SessionEvent, SessionSettings, SessionState, SessionStore, SessionPatch, NewSession } from './store/session-contract.js';
export { SessionService, SESSION_RUN, CONTINUE_PROMPT, AgentTransientError } from './sessions/service.js';
export type { SessionServiceOptions, SessionRunData, SessionEventMap } from './sessions/service.js';
export { ReplayProvider, TRANSCRIPTS_DIR } from './sessions/replay.js';
export { ClaudeProvider, CLAUDE_SDK } from './sessions/claude.js';
export { AgentProcesses } from './sessions/agent-processes.js';
export type { ClaudeProviderOptions, ClaudeSdk } from './sessions/claude.js';
export { AgentAbortError } from './sessions/provider.js';
export type { AgentProvider, AgentMessage, AgentRunParams } from './sessions/provider.js';
export { JobSystem, createJobSystem } from './system/job-system.js';
export type { JobSystemOptions, EnqueueOptions, EnqueueResult, FlowNode, FlowResult, SystemStats, ScheduleApi } from './system/job-system.js';
