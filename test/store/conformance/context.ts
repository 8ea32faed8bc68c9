/**
 * What every part of the JobStore conformance suite shares: the store under test (a fresh one per
 * test), the harness around it, and small helpers. Tests use explicit `now` values, so nothing
 * depends on the wall clock.
 */
import { expect } from 'vitest';
import type { Job, JobStore } from '../../../src/store/contract.js';
import { ValidationError } from '../../../src/store/errors.js';

export interface StoreHarness {
  store: JobStore;
  /** Count rows straight from the database, bypassing the store's counters. */
  countByStatus(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export const T0 = 1_700_000_000_000;
export const LEASE = 30_000;

export class ConformanceContext {
  h!: StoreHarness;

  get store(): JobStore {
    return this.h.store;
  }

  async create(job: Parameters<JobStore['jobCreate']>[0]['job'], now = T0): Promise<Job> {
    return (await this.store.jobCreate({ job, now })).job;
  }

  claim(limit = 10, now = T0, extra: Partial<Parameters<JobStore['jobClaim']>[0]> = {}): Promise<Job[]> {
    return this.store.jobClaim({ workerId: 'w1', types: ['t.a', 't.b', 't.c'], limit, now, leaseMs: LEASE, ...extra });
  }

  async totalRows(): Promise<number> {
    return Object.values(await this.h.countByStatus()).reduce((a, b) => a + b, 0);
  }

  /** `promise` rejects with a ValidationError naming `field`, and no row was written. */
  async expectRejected(promise: () => Promise<unknown>, field: string): Promise<void> {
    const before = await this.totalRows();
    let error: unknown;
    try {
      await promise();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect((error as ValidationError).message).toContain(field);
    expect(await this.totalRows()).toBe(before);
  }
}
