/**
 * Records a real Claude Code transcript for the replay provider: the real SDK and binary run one
 * scripted turn against the Anthropic API stand-in (thinking, text, Bash, Write, Read, Edit), and every message the SDK yields — less the partial `stream_event`s, which agentq never
 * stores — is written as JSONL with the session id and folder replaced by `{{session_id}}` and
 * `{{cwd}}`. So the replay provider plays the SDK's true shapes.
 *
 *   npx tsx scripts/record-transcript.ts [fixtures/replay/claude-code.jsonl]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClaudeProvider } from '../src/sessions/claude.js';
import type { AgentMessage } from '../src/sessions/provider.js';
import { startAnthropicStandIn, type Reply } from '../test/helpers/anthropic-api.js';

/** One turn of a small, believable coding session in `project`. */
export function codingScript(project: string): Reply[] {
  const file = join(project, 'greet.js');
  return [
    {
      thinking: 'The user wants a greet function. I will look around, write it, then run it.',
      text: "I'll add a `greet` function and check that it runs.",
      tools: [{ name: 'Bash', input: { command: 'ls -la', description: 'List the project' } }],
      usage: { input_tokens: 2_400, output_tokens: 120, cache_creation_input_tokens: 1_800 },
    },
    { tools: [{ name: 'Write', input: { file_path: file, content: "export function greet(name) {\n  return 'Hello ' + name;\n}\n" } }], usage: { input_tokens: 60, output_tokens: 80, cache_read_input_tokens: 4_200 } },
    { tools: [{ name: 'Read', input: { file_path: file } }], usage: { input_tokens: 50, output_tokens: 30, cache_read_input_tokens: 4_300 } },
    { text: 'Use a template string instead.', tools: [{ name: 'Edit', input: { file_path: file, old_string: "'Hello ' + name", new_string: '`Hello, ${name}!`' } }], usage: { input_tokens: 70, output_tokens: 60, cache_read_input_tokens: 4_400 } },
    { tools: [{ name: 'Bash', input: { command: `node --input-type=module -e "import('${file}').then((m) => console.log(m.greet('Ada')))"`, description: 'Run greet' } }], usage: { input_tokens: 80, output_tokens: 70, cache_read_input_tokens: 4_500 } },
    { text: 'Done: `greet.js` exports `greet(name)`, which returns `Hello, Ada!` for Ada. I checked it by running it.', chunks: 6, usage: { input_tokens: 90, output_tokens: 40, cache_read_input_tokens: 4_600 } },
  ];
}

export async function recordTranscript(): Promise<string[]> {
  const tmp = mkdtempSync(join(tmpdir(), 'agentq-record-'));
  const project = join(tmp, 'project');
  const configDir = join(tmp, 'claude');
  mkdirSync(project);
  mkdirSync(configDir);
  const api = await startAnthropicStandIn();
  try {
    api.script(...codingScript(project));
    const provider = new ClaudeProvider({ env: api.env(configDir) });
    const lines: string[] = [];
    let sessionId = '';
    for await (const m of provider.run({ prompt: 'Add a greet(name) function in greet.js and check it runs', cwd: project, resume: null, settings: { permissionMode: 'acceptEdits', allowedTools: ['Bash'] }, signal: new AbortController().signal })) {
      if (m.type === 'stream_event') continue;
      if (sessionId === '' && typeof m.session_id === 'string') sessionId = m.session_id;
      lines.push(JSON.stringify(m satisfies AgentMessage));
    }
    return lines.map((l) => l.replaceAll(sessionId, '{{session_id}}').replaceAll(JSON.stringify(project).slice(1, -1), '{{cwd}}'));
  } finally {
    await api.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const out = resolve(process.argv[2] ?? 'fixtures/replay/claude-code.jsonl');
  const lines = await recordTranscript();
  writeFileSync(out, `${lines.join('\n')}\n`);
  process.stdout.write(`wrote ${String(lines.length)} messages to ${out}\n`);
}
