/**
 * Wraps a JobStore to inject faults: make the next N calls of a method fail, or hold calls of a
 * method until released. Everything else passes straight through to the real store.
 */
import type { JobStore } from '../../src/store/contract.js';
import { DatabaseFullError } from '../../src/store/errors.js';

type AsyncMethod = Exclude<keyof JobStore, 'changesWatch'>;

export interface FaultyStore {
  store: JobStore;
  /** The next `times` calls of `method` reject with `error` (default: DatabaseFullError). */
  failNext(method: AsyncMethod, times?: number, error?: unknown): void;
  /** Calls of `method` wait until the returned function is called. */
  hold(method: AsyncMethod): () => void;
  /** How many times `method` was called. */
  calls(method: AsyncMethod): number;
}

/** `without` hides optional members (e.g. `maintenance`), as a backend lacking them would. */
export function faultyStore(inner: JobStore, without: (keyof JobStore)[] = []): FaultyStore {
  const failures = new Map<string, { times: number; error: unknown }>();
  const holds = new Map<string, Promise<void>>();
  const counts = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, prop: string) {
      if ((without as string[]).includes(prop)) return undefined;
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function' || prop === 'changesWatch') {
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return async (...args: unknown[]): Promise<unknown> => {
        counts.set(prop, (counts.get(prop) ?? 0) + 1);
        const held = holds.get(prop);
        if (held !== undefined) await held;
        const failure = failures.get(prop);
        if (failure !== undefined && failure.times > 0) {
          failure.times -= 1;
          throw failure.error;
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return {
    store,
    failNext(method, times = 1, error = new DatabaseFullError()) {
      failures.set(method, { times, error });
    },
    hold(method) {
      let release!: () => void;
      holds.set(method, new Promise<void>((resolve) => { release = resolve; }));
      return () => {
        holds.delete(method);
        release();
      };
    },
    calls: (method) => counts.get(method) ?? 0,
  };
}
