/** The runnable examples in examples/ run to the end and print what they promise. */
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { spawnTs, waitForExit } from './helpers/processes.js';
import { tempDir } from './helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => { tmp = tempDir('agentq-example-'); });
afterEach(() => { tmp.cleanup(); });

const run = (file: string, arg: string) => waitForExit(spawnTs(join('examples', file), [arg]));

it('basic-queue: a typed job runs and returns its result', async () => {
  const r = await run('basic-queue.ts', join(tmp.dir, 'a.db'));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('job 1 completed: {"out":"cat-320.png"}\n');
});

it('schedule: a schedule fires once a second, three times', async () => {
  const r = await run('schedule.ts', join(tmp.dir, 's.db'));
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^tick 1: checked https:\/\/example\.com\ntick 2: .*\ntick 3: .*\ndone after 3 ticks\n$/);
}, 30_000);

it('http-api: queues over HTTP and follows the job on the live stream', async () => {
  const r = await run('http-api.ts', join(tmp.dir, 'data'));
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/POST \/api\/jobs → 201, job 1\njob:started\njob:progress \{"done":1,"total":3\}[\s\S]*job:completed\nresult: \{"sleptMs":300\}\n$/);
}, 30_000);

it('replay-session: an agent session stores every message in order', async () => {
  const r = await run('replay-session.ts', join(tmp.dir, 'r.db'));
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^ {2}1 user_prompt\n {2}2 system\n {2}3 assistant\n[\s\S]*13 result\nsession 1 is waiting_for_input; cost \$0\.\d{4}\n$/);
}, 30_000);

it('flow: children first, then the merge that reads their results, then the job that depends on it', async () => {
  const r = await run('flow.ts', join(tmp.dir, 'f.db'));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('merge 4 waits for 3 reports; publish 5 is waiting\nmerged: {"month":"2026-11","total":800}\npublished: "sent to board@example.com"\n');
}, 30_000);

it('type-controls: a paused type waits, then runs at its rate limit', async () => {
  const r = await run('type-controls.ts', join(tmp.dir, 'c.db'));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('paused by example: provider outage\n10 sent; the first 5 within true a second, the 6th after true a second\n');
}, 30_000);
