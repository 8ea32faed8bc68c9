/**
 * npm run bench -- [part ...]
 * Prints one JSON object per line: {"part","metric","value","unit"} (plus "baseline" and "ratio"
 * where a target is stated against a baseline measured in the same run). No part = all parts.
 */
import { parts } from './parts.js';

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(w in parts));
if (unknown.length > 0) {
  process.stderr.write(`unknown bench part(s): ${unknown.join(', ')}; choose from ${Object.keys(parts).join(', ')}\n`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(parts)) {
  await (parts[name] as () => Promise<void>)();
}
// Peers' clients (pg-boss, graphile-worker) may hold handles after they stop: the figures are out, end here.
process.exitCode = 0;
process.stdout.write('', () => process.exit());
