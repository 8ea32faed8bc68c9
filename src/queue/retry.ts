/**
 * The retry policy: pure functions, so timing can be tested exactly with an injected random source.
 *
 * Delay before attempt n+1 after attempt n failed: exponential (`baseMs * factor^(n-1)`), capped at
 * `maxMs`, then with full jitter a uniformly random value in [0, that] (spreads a thundering herd of
 * retries after an outage), or exactly that with `jitter: 'none'`.
 */
import { ValidationError } from '../store/errors.js';
import { LIMITS, validateInteger } from '../store/validation.js';

export interface RetryPolicy {
  /** Total attempts, the first included. Default 3. */
  maxAttempts: number;
  /** Delay scale for the first retry. Default 1,000 ms. */
  baseMs: number;
  /** Cap on any single delay. Default 1 hour. */
  maxMs: number;
  /** Growth per attempt. Default 2. */
  factor: number;
  /** `full` (default): uniform in [0, delay]. `none`: exactly the delay. */
  jitter: 'full' | 'none';
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 3,
  baseMs: 1_000,
  maxMs: 3_600_000,
  factor: 2,
  jitter: 'full',
});

/** Merge overrides onto the defaults, validating each field. */
export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}, field = 'retry'): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...overrides };
  validateInteger(`${field}.maxAttempts`, policy.maxAttempts, 1, LIMITS.maxAttempts);
  validateInteger(`${field}.baseMs`, policy.baseMs, 0, LIMITS.timeoutMs);
  validateInteger(`${field}.maxMs`, policy.maxMs, 0, LIMITS.timeoutMs);
  if (typeof policy.factor !== 'number' || !Number.isFinite(policy.factor) || policy.factor < 1 || policy.factor > 100) {
    throw new ValidationError(`${field}.factor`, `must be a number from 1 to 100 (got ${String(policy.factor)})`);
  }
  if (!['full', 'none'].includes(policy.jitter)) {
    throw new ValidationError(`${field}.jitter`, `must be "full" or "none" (got ${JSON.stringify(policy.jitter)})`);
  }
  return policy;
}

/** Milliseconds to wait after failed attempt number `attempt` (1-based). */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxMs, policy.baseMs * policy.factor ** exponent);
  return Math.round(policy.jitter === 'full' ? random() * capped : capped);
}
