/** JobStore conformance: close. */
import { expect, it } from 'vitest';
import { T0, type ConformanceContext } from './context.js';

export function conformanceClose(ctx: ConformanceContext): void {
  it('rejects every call after close', async () => {
    await ctx.store.close();
    await expect(ctx.store.jobGet({ id: 1 })).rejects.toThrow(/closed/);
    await expect(ctx.store.jobCreate({ job: { type: 't.a' }, now: T0 })).rejects.toThrow(/closed/);
    await ctx.store.close();
  });
}
