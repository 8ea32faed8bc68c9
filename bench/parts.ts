import { agentsBench } from './agents.js';
import { apiBench } from './api.js';
import { browserBench } from './browser.js';
import { maintenanceBench } from './maintenance.js';
import { markdownBench } from './markdown.js';
import { postgresBench } from './postgres.js';
import { sessionsBench } from './sessions.js';
import { soakBench } from './soak.js';
import { storeBench } from './store.js';
import { workerBench } from './worker.js';

/** Every bench part, by the name `npm run bench -- <part>` takes. */
export const parts: Record<string, () => Promise<void>> = {
  store: storeBench,
  worker: workerBench,
  maintenance: maintenanceBench,
  sessions: sessionsBench,
  api: apiBench,
  postgres: postgresBench,
  browser: browserBench,
  markdown: markdownBench,
  soak: soakBench,
  agents: agentsBench,
};
