/**
 * The agents bench's turn, as the API stand-in plays it: 12 steps, each thinking, a sentence and a
 * tool use (Read of a project file, every sixth a Bash `echo`), then a closing sentence: about 50
 * stored messages. The step is read from the request (assistant messages so far), so any number of
 * sessions can run at once, each in its own conversation. Each reply waits `AGENTQ_BENCH_AGENT_STEP_MS`
 * (default 2,000 ms), as a model would: a fast one; real replies often take longer.
 */
import { join } from 'node:path';
import type { Reply, RequestBody } from '../test/helpers/anthropic-api.js';

export const BENCH_STEPS = 12;
const STEP_MS = Number(process.env.AGENTQ_BENCH_AGENT_STEP_MS ?? 2_000);

export function benchTurn(fallbackProject: string, body: RequestBody): Reply {
  // The session's folder, as Claude Code tells the model.
  const project = /Primary working directory: ([^\\\n"]+)/.exec(JSON.stringify(body.system ?? ''))?.[1] ?? fallbackProject;
  const messages = (body.messages ?? []) as { role?: string }[];
  // Only this turn's replies count: the last user message that carries the prompt starts it.
  const step = messages.filter((m) => m.role === 'assistant').length;
  if (step >= BENCH_STEPS) return { text: `All ${String(BENCH_STEPS)} steps done.`, delayMs: STEP_MS, chunks: 4 };
  const tool = step % 6 === 5
    ? { name: 'Bash', input: { command: `echo step ${String(step)}`, description: 'Say the step' } }
    : { name: 'Read', input: { file_path: join(project, `file${String(step % 4)}.txt`) } };
  return { thinking: `Step ${String(step)}: look at the next file.`, text: `Step ${String(step)}.`, tools: [tool], delayMs: STEP_MS, chunks: 3, usage: { input_tokens: 200, output_tokens: 40, cache_read_input_tokens: 3_000 } };
}
