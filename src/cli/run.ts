/** Entry point of the `agentq` command (bin/agentq.js runs the compiled form). */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
  tty: process.stderr.isTTY,
});
