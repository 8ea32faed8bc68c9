import { join } from 'node:path';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { JobEvents } from '../../src/queue/events.js';
import { JobRegistry, defineJob, validateJobData, type DataOf, type ResultOf } from '../../src/queue/registry.js';
import { DEFAULT_RETRY, resolveRetryPolicy, retryDelay } from '../../src/queue/retry.js';
import { RegistryError, ValidationError } from '../../src/store/errors.js';
import { createJobSystem } from '../../src/system/job-system.js';
import { tempDir } from '../helpers/temp.js';

const tmp = tempDir();
afterEach(() => {
  tmp.cleanup();
});

const sendEmail = defineJob({
  type: 'email.send',
  validate: (data: unknown) => {
    if (typeof data !== 'object' || data === null || typeof (data as { to?: unknown }).to !== 'string') throw new Error('to must be a string');
    return data as { to: string };
  },
  run: (data: { to: string }) => ({ sent: data.to }),
  retry: { maxAttempts: 5 },
  timeoutMs: 10_000,
  concurrency: 2,
  orphan: 'fail',
  priority: 3,
});

describe('defineJob', () => {
  it('fills documented defaults and freezes the definition', () => {
    const def = defineJob({ type: 'a.b', run: () => 1 });
    expect(def).toMatchObject({ type: 'a.b', validate: null, retry: DEFAULT_RETRY, timeoutMs: null, concurrency: null, orphan: 'retry', priority: 0, prefetch: true });
    expect(Object.isFrozen(def)).toBe(true);
    expect(sendEmail).toMatchObject({ timeoutMs: 10_000, concurrency: 2, orphan: 'fail', priority: 3 });
    expect(sendEmail.retry.maxAttempts).toBe(5);
  });

  it('rejects bad definitions with errors naming the field', () => {
    const bad: [string, () => unknown][] = [
      ['definition', () => defineJob(null as never)],
      ['type', () => defineJob({ type: 'bad name', run: () => 1 })],
      ['run', () => defineJob({ type: 'a.b', run: 'nope' as never })],
      ['validate', () => defineJob({ type: 'a.b', run: () => 1, validate: 5 as never })],
      ['prefetch', () => defineJob({ type: 'a.b', run: () => 1, prefetch: 'yes' as never })],
      ['timeoutMs', () => defineJob({ type: 'a.b', run: () => 1, timeoutMs: 0 })],
      ['concurrency', () => defineJob({ type: 'a.b', run: () => 1, concurrency: 0 })],
      ['orphan', () => defineJob({ type: 'a.b', run: () => 1, orphan: 'x' as never })],
      ['priority', () => defineJob({ type: 'a.b', run: () => 1, priority: 0.5 })],
      ['retry.maxAttempts', () => defineJob({ type: 'a.b', run: () => 1, retry: { maxAttempts: 0 } })],
      ['retry.factor', () => defineJob({ type: 'a.b', run: () => 1, retry: { factor: 0.5 } })],
      ['retry.jitter', () => defineJob({ type: 'a.b', run: () => 1, retry: { jitter: 'some' as never } })],
    ];
    for (const [field, make] of bad) {
      expect(make, field).toThrow(ValidationError);
      try {
        make();
      } catch (err) {
        expect((err as ValidationError).field).toBe(field);
      }
    }
  });

  it('validates data with the definition\'s validator, keeping or replacing it', () => {
    expect(validateJobData(sendEmail, { to: 'a@b' })).toEqual({ to: 'a@b' });
    expect(() => validateJobData(sendEmail, { to: 5 })).toThrow(/rejected by the "email.send" validator: to must be a string/);
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: a validator that throws a non-Error
    const thrower = defineJob({ type: 'a.b', run: (n: number) => n, validate: (): number => { throw 'plain'; } });
    expect(() => validateJobData(thrower, 1)).toThrow(/plain/);
    const checker = defineJob({ type: 'a.c', run: (n: number) => n, validate: () => undefined });
    expect(validateJobData(checker, 7)).toBe(7);
    const parser = defineJob({ type: 'a.d', run: (n: number) => n, validate: (d) => Number(d) });
    expect(validateJobData(parser, '8')).toBe(8);
    expect(validateJobData(defineJob({ type: 'a.e', run: () => 1 }), 'as is')).toBe('as is');
  });

  it('carries data and result types to enqueue: the wrong shape does not compile', async () => {
    expectTypeOf<DataOf<typeof sendEmail>>().toEqualTypeOf<{ to: string }>();
    expectTypeOf<ResultOf<typeof sendEmail>>().toEqualTypeOf<{ sent: string }>();
    const system = createJobSystem({ database: join(tmp.dir, 'typed.db'), jobs: [sendEmail] });
    await system.enqueue(sendEmail, { to: 'x@y' });
    await system.enqueue('email.send', { to: 'x@y' });
    // @ts-expect-error -- `to` must be a string
    await expect(system.enqueue(sendEmail, { to: 5 })).rejects.toThrow(ValidationError);
    // @ts-expect-error -- missing `to`
    await expect(system.enqueue('email.send', {})).rejects.toThrow(ValidationError);
    // @ts-expect-error -- not a registered type name
    await expect(system.enqueue('email.sned', { to: 'x' })).resolves.toBeDefined();
    const job = (await system.enqueue(sendEmail, { to: 'z' })).job;
    expect(job).toMatchObject({ maxAttempts: 5, timeoutMs: 10_000, orphan: 'fail', priority: 3 });
    await system.close();
  });
});

describe('JobRegistry', () => {
  it('registers, lists, removes, and refuses duplicates and unknown types', () => {
    const r = new JobRegistry();
    let changes = 0;
    const off = r.onChange(() => { changes += 1; });
    r.register(sendEmail);
    r.register(defineJob({ type: 'a.first', run: () => 1 }));
    expect(r.types()).toEqual(['a.first', 'email.send']);
    expect(r.list().map((d) => d.type)).toEqual(['a.first', 'email.send']);
    expect(() => { r.register(sendEmail); }).toThrow(/already registered/);
    expect(() => { r.register({} as never); }).toThrow(RegistryError);
    expect(r.require('email.send')).toBe(sendEmail);
    expect(() => r.require('x.y')).toThrow(/unknown job type "x.y"; known types: a.first, email.send/);
    expect(r.unregister('a.first')).toBe(true);
    expect(r.unregister('a.first')).toBe(false);
    expect(r.has('a.first')).toBe(false);
    expect(changes).toBe(3);
    off();
    r.unregister('email.send');
    expect(changes).toBe(3);
    expect(() => r.require('x.y')).toThrow(/\(none registered\)/);
  });
});

describe('retry policy', () => {
  it('grows exponentially, caps, and jitters uniformly within the cap', () => {
    const p = resolveRetryPolicy({ baseMs: 100, factor: 2, maxMs: 1_000, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(p, a))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(retryDelay(p, 0)).toBe(100);
    const full = resolveRetryPolicy({ baseMs: 100, factor: 2, maxMs: 1_000 });
    expect(retryDelay(full, 3, () => 0)).toBe(0);
    expect(retryDelay(full, 3, () => 0.25)).toBe(100);
    expect(retryDelay(full, 10, () => 0.999)).toBe(999);
    for (let i = 0; i < 100; i++) expect(retryDelay(full, 4)).toBeLessThanOrEqual(800);
  });
});

describe('typed events', () => {
  it('delivers payloads to on/once listeners and unsubscribes', () => {
    const events = new JobEvents();
    const seen: number[] = [];
    const off = events.on('job:cancelled', (p) => seen.push(p.jobId));
    events.once('job:cancelled', (p) => seen.push(p.jobId * 10));
    events.emit('job:cancelled', { jobId: 1, type: 'a' });
    events.emit('job:cancelled', { jobId: 2, type: 'a' });
    off();
    events.emit('job:cancelled', { jobId: 3, type: 'a' });
    expect(seen).toEqual([1, 10, 2]);
    const offOnce = events.once('job:released', () => seen.push(99));
    offOnce();
    events.emit('job:released', { jobId: 4, type: 'a' });
    expect(seen).toEqual([1, 10, 2]);
    expect(events.listenerCount('job:cancelled')).toBe(0);
  });
});
