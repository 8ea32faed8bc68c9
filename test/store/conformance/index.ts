/**
 * The JobStore conformance suite: the executable form of `src/store/contract.ts`, split by
 * operation (one file each). Every backend runs it unchanged: `runStoreConformance('sqlite', factory)`.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import { ConformanceContext, type StoreHarness } from './context.js';
import { conformanceCreate } from './create.js';
import { conformanceBadInput } from './bad-input.js';
import { conformanceList } from './list.js';
import { conformanceUpdateRetry } from './update-retry.js';
import { conformanceClaim } from './claim.js';
import { conformanceLeases } from './leases.js';
import { conformanceFinish } from './finish.js';
import { conformanceCancel } from './cancel.js';
import { conformanceRescue } from './rescue.js';
import { conformanceStats } from './stats.js';
import { conformanceCleanup } from './cleanup.js';
import { conformanceSchedules } from './schedules.js';
import { conformanceClose } from './close.js';
import { conformanceDependencies } from './dependencies.js';
import { conformanceTypes } from './types.js';

export type { StoreHarness } from './context.js';

export function runStoreConformance(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`JobStore conformance: ${name}`, () => {
    const ctx = new ConformanceContext();
    beforeEach(async () => {
      ctx.h = await makeHarness();
    });
    afterEach(async () => {
      await ctx.h.close();
    });
    conformanceCreate(ctx);
    conformanceBadInput(ctx);
    conformanceList(ctx);
    conformanceUpdateRetry(ctx);
    conformanceClaim(ctx);
    conformanceLeases(ctx);
    conformanceFinish(ctx);
    conformanceCancel(ctx);
    conformanceRescue(ctx);
    conformanceStats(ctx);
    conformanceCleanup(ctx);
    conformanceSchedules(ctx);
    conformanceDependencies(ctx);
    conformanceTypes(ctx);
    conformanceClose(ctx);
  });
}
