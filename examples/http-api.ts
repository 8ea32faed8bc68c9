/**
 * The HTTP API from a script: start the server in-process, queue a job with the access token, and
 * follow it on the live stream until it completes.
 * Run: npx tsx examples/http-api.ts [data directory]
 */
import { startServer } from 'agentq/server';

// demo: true registers the demo.* job types used here.
const server = await startServer({ dataDir: process.argv[2] ?? './example-data', port: 0, maintenance: false, demo: true, log: () => undefined });
const headers = { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' };

const stream = await fetch(`${server.url}/api/stream?topics=jobs`, { headers });
const created = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers, body: JSON.stringify({ type: 'demo.sleep', data: { ms: 300, steps: 3 } }) });
const { job } = (await created.json()) as { job: { id: number } };
console.log(`POST /api/jobs → ${String(created.status)}, job ${String(job.id)}`);

// Read Server-Sent Events until our job completes.
const decoder = new TextDecoder();
let buffer = '';
for await (const chunk of stream.body as AsyncIterable<Uint8Array>) {
  buffer += decoder.decode(chunk, { stream: true });
  const frames = buffer.split('\n\n');
  buffer = frames.pop() ?? '';
  for (const frame of frames) {
    const event = /^event: (.*)$/m.exec(frame)?.[1];
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (event === undefined || data === undefined || !event.startsWith('job:')) continue;
    const payload = JSON.parse(data) as { jobId?: number; progress?: unknown };
    if (payload.jobId !== job.id) continue;
    console.log(`${event}${payload.progress === undefined ? '' : ` ${JSON.stringify(payload.progress)}`}`);
    if (event === 'job:completed') {
      const final = (await (await fetch(`${server.url}/api/jobs/${String(job.id)}`, { headers })).json()) as { job: { result: unknown } };
      console.log(`result: ${JSON.stringify(final.job.result)}`);
      await server.close();
      process.exit(0);
    }
  }
}
