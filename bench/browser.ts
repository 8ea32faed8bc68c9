/**
 * Browser bench: how soon the pages answer input (React hydrated) in Debian's Chromium, with 200
 * sessions on the home page and a session of 5,000 events. The figure is the browser's own clock
 * from navigation start to the end of hydration; median and worst of 5 loads each.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRANSCRIPTS_DIR } from '../src/sessions/replay.js';
import { startServer } from '../src/server/server.js';
import { hasChromium, launchBrowser, CHROMIUM } from '../test/helpers/browser.js';
import { emit, percentile, withTempDir } from './lib.js';

export async function browserBench(): Promise<void> {
  const part = 'browser';
  if (!hasChromium) {
    process.stderr.write(`browser bench skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`);
    return;
  }
  await withTempDir(async (dir) => {
    const server = await startServer({ dataDir: dir, port: 0, maintenance: false, log: () => undefined });
    const store = server.services.api.sessionStore;
    const messages = readFileSync(join(TRANSCRIPTS_DIR, 'refactor.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    let big = 0;
    for (let i = 0; i < 200; i++) {
      const s = await store.sessionCreate({ session: { projectPath: dir, provider: 'replay', title: `Session ${String(i)}: refactor the payment module` }, now: Date.now() });
      await store.eventAppendMany({ now: Date.now(), batches: [{ sessionId: s.id, events: messages.slice(0, 6).map((m) => ({ type: m.type, payload: m })), preview: 'Migrating module3.ts; the suite passes after each step so far.' }] });
      big = s.id;
    }
    for (let n = 0; n < 5_000; n += messages.length) {
      await store.eventAppendMany({ now: Date.now(), batches: [{ sessionId: big, events: messages.slice(0, Math.min(messages.length, 5_000 - n)).map((m) => ({ type: m.type, payload: m })) }] });
    }
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(server.loginUrl());
      const measure = async (metric: string, path: string, note: string): Promise<void> => {
        const times: number[] = [];
        for (let i = 0; i < 6; i++) {
          await page.goto(`${server.url}${path}`, { waitUntil: 'commit' });
          await page.waitForSelector('html[data-hydrated="1"]');
          const t = await page.evaluate(() => performance.getEntriesByName('agentq:interactive')[0]?.startTime ?? Number.NaN);
          if (i > 0) times.push(t); // the first load warms the browser's caches
        }
        times.sort((a, b) => a - b);
        emit({ part, metric, value: percentile(times, 50), unit: 'ms', note: `${note}; worst of ${String(times.length)} ${percentile(times, 100).toFixed(0)} ms; target < 1000` });
      };
      await measure('home_interactive_ms', '/', '200 sessions');
      await measure('session_interactive_ms', `/sessions/${String(big)}`, '5,000 events');
    } finally {
      await browser.close();
      await server.close();
    }
  });
}
