/**
 * Load generator for the API bench, run as its own process so it does not share the server's event
 * loop. Prints one JSON line.
 *   get <url> <token> <n>                      n sequential GETs: latencies in ms
 *   post <url> <token> <seconds> <connections>  POST /api/jobs as fast as `connections` keep-alive
 *                                              connections allow: requests, errors, rps
 */
import { Agent, request } from 'node:http';

const [mode, url, token, a, b] = process.argv.slice(2) as [string, string, string, string, string];
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function send(method: string, target: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(target, {
      method,
      agent,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) },
    }, (res) => {
      res.resume();
      res.on('end', () => { resolve(res.statusCode ?? 0); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

if (mode === 'get') {
  const latencies: number[] = [];
  let errors = 0;
  for (let i = 0; i < Number(a); i++) {
    const t = performance.now();
    const status = await send('GET', url);
    latencies.push(performance.now() - t);
    if (status !== 200) errors += 1;
  }
  process.stdout.write(`${JSON.stringify({ latencies, errors })}\n`);
} else {
  const deadline = performance.now() + Number(a) * 1_000;
  let requests = 0;
  let errors = 0;
  const body = JSON.stringify({ type: process.env.BENCH_TYPE ?? 'bench.noop', data: { payload: 'x'.repeat(100) } });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(b) }, async () => {
    while (performance.now() < deadline) {
      try {
        const status = await send('POST', url, body);
        if (status !== 201) errors += 1;
      } catch {
        errors += 1;
      }
      requests += 1;
    }
  }));
  const seconds = (performance.now() - t0) / 1_000;
  process.stdout.write(`${JSON.stringify({ requests, errors, rps: requests / seconds })}\n`);
}
agent.destroy();
