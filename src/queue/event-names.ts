/**
 * The names of the job events (see JobEventMap in events.ts), written once: the live stream sends
 * them and the dashboard listens for them. No imports, so the browser bundle can take it too.
 */
export const JOB_EVENT_NAMES = Object.freeze([
  'job:enqueued', 'job:started', 'job:progress', 'job:completed', 'job:failed', 'job:retrying', 'job:snoozed',
  'job:cancelled', 'job:released', 'job:lost', 'job:stuck', 'job:rescued', 'job:log',
] as const);
export type JobEventName = (typeof JOB_EVENT_NAMES)[number];
