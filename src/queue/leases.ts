/**
 * The worker's side of leases: knowing, every heartbeat, which of its leases are still held and
 * which jobs were asked to cancel (a cheap read), and renewing them every third of the lease (one
 * batched write). Renewing every second would rewrite the lease index entry of every running job
 * every second.
 */
import type { HeartbeatResult, JobStore, LeaseRef } from '../store/contract.js';

export interface LeaseKeeperOptions {
  store: JobStore;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  clock: () => number;
}

export class LeaseKeeper {
  /** When leases were last renewed (claims come with fresh leases). */
  private renewedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** Check (and when due, renew) `leases`; one result per lease, in order. Throws the store's errors. */
  async check(leases: LeaseRef[]): Promise<HeartbeatResult[]> {
    const { store, workerId, leaseMs, heartbeatMs } = this.options;
    const now = this.options.clock();
    const renew = now - this.renewedAt >= leaseMs / 3 - heartbeatMs / 2;
    const results = renew
      ? await store.jobHeartbeat({ leases, workerId, leaseMs, now })
      : await store.jobLeaseCheck({ leases, workerId });
    if (renew) this.renewedAt = now;
    return results;
  }
}
