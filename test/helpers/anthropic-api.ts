/**
 * A scripted stand-in for the Anthropic Messages API, so that the real Claude Code binary (through
 * the real Agent SDK) runs whole turns here without credentials or a network.
 *
 * Point the binary at it with `standIn.env(configDir)` (ANTHROPIC_BASE_URL, a dummy
 * ANTHROPIC_API_KEY, a CLAUDE_CONFIG_DIR of the test's own, and retry knobs that keep error tests
 * fast). Each `POST /v1/messages` made for the conversation (streamed, with tools) takes the next
 * reply of the script; side requests the binary makes on its own (titles, summaries: no tools) get
 * a short text and do not consume the script. Every request is recorded, so a test can assert what
 * the agent sent (`requests`, `conversation`).
 *
 * A reply is text and/or thinking and/or tool uses (streamed as the API streams them), or an error
 * with a status, a body and headers. A script that runs out answers "Done." and ends the turn.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolUse {
  name: string;
  input: Record<string, unknown>;
}

export interface MessageReply {
  thinking?: string;
  text?: string;
  tools?: ToolUse[];
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  /** Wait this long before answering (a slow first byte). */
  delayMs?: number;
  /** Split text into this many deltas, this far apart (a slow stream). */
  chunks?: number;
  chunkDelayMs?: number;
  stopReason?: string;
}

export interface ErrorReply {
  status: number;
  type?: string;
  message?: string;
  headers?: Record<string, string>;
  /** Answer the same error to every conversation request from now on (the script does not advance). */
  always?: boolean;
}

export type Reply = MessageReply | ErrorReply;

/** A reply made from the request it answers (e.g. a path taken from the agent's system prompt). */
export type ReplyFor = (body: RequestBody | null) => Reply;

/** What matters of a Messages API request body (the rest stays on the object). */
export interface RequestBody {
  model?: string;
  stream?: boolean;
  tools?: unknown[];
  messages?: unknown[];
  system?: unknown;
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: RequestBody | null;
  /** Whether this request consumed a script reply (a conversation request). */
  scripted: boolean;
}

export interface AnthropicStandIn {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The conversation requests only (those the script answered). */
  conversation(): RecordedRequest[];
  /** Append replies to the script. */
  script(...replies: (Reply | ReplyFor)[]): void;
  /** Resolve once `n` conversation requests have arrived (counting from the start). */
  waitForRequests(n: number): Promise<void>;
  /** The environment the binary needs to talk to this stand-in. */
  env(configDir: string): Record<string, string>;
  close(): Promise<void>;
}

export const DEFAULT_USAGE = { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

const isError = (r: Reply): r is ErrorReply => typeof (r as ErrorReply).status === 'number';

let ids = 0;
const nextId = (prefix: string): string => `${prefix}_${String(process.pid)}_${String((ids += 1))}`;

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function chunksOf(text: string, n: number): string[] {
  if (n <= 1 || text.length <= 1) return [text];
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Stream one reply as the Messages API streams it. */
async function streamReply(res: ServerResponse, model: string, reply: MessageReply): Promise<void> {
  const usage = { ...DEFAULT_USAGE, ...reply.usage };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': nextId('req') });
  send(res, 'message_start', {
    type: 'message_start',
    message: { id: nextId('msg'), type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input_tokens, cache_read_input_tokens: usage.cache_read_input_tokens, cache_creation_input_tokens: usage.cache_creation_input_tokens, output_tokens: 1 } },
  });
  let index = 0;
  if (reply.thinking !== undefined) {
    send(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
    send(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: reply.thinking } });
    send(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'c3RhbmQtaW4=' } });
    send(res, 'content_block_stop', { type: 'content_block_stop', index });
    index += 1;
  }
  if (reply.text !== undefined) {
    send(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
    for (const part of chunksOf(reply.text, reply.chunks ?? 1)) {
      send(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: part } });
      if (reply.chunkDelayMs !== undefined) await wait(reply.chunkDelayMs);
    }
    send(res, 'content_block_stop', { type: 'content_block_stop', index });
    index += 1;
  }
  for (const tool of reply.tools ?? []) {
    send(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: nextId('toolu'), name: tool.name, input: {} } });
    send(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(tool.input) } });
    send(res, 'content_block_stop', { type: 'content_block_stop', index });
    index += 1;
  }
  const stopReason = reply.stopReason ?? ((reply.tools?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
  send(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  send(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

function sendError(res: ServerResponse, reply: ErrorReply): void {
  const type = reply.type ?? (reply.status === 529 ? 'overloaded_error' : reply.status === 429 ? 'rate_limit_error' : reply.status === 401 ? 'authentication_error' : reply.status >= 500 ? 'api_error' : 'invalid_request_error');
  res.writeHead(reply.status, { 'content-type': 'application/json', 'request-id': nextId('req'), ...reply.headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message: reply.message ?? type } }));
}

async function readBody(req: IncomingMessage): Promise<RequestBody | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return null;
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed as RequestBody : { raw: text };
  } catch {
    return { raw: text };
  }
}

export interface StandInOptions {
  /**
   * Answers conversation requests the script has no reply for, from the request itself: many
   * concurrent sessions each get their own conversation (e.g. step = assistant messages so far).
   */
  respond?: (body: RequestBody) => Reply;
  /** Keep no record of requests (long benchmarks). */
  record?: boolean;
}

/** Start a stand-in on 127.0.0.1 (a random port). */
export async function startAnthropicStandIn(options: StandInOptions = {}): Promise<AnthropicStandIn> {
  const queue: (Reply | ReplyFor)[] = [];
  let sticky: ErrorReply | null = null;
  const requests: RecordedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const conversationCount = (): number => requests.filter((r) => r.scripted).length;
  const wake = (): void => {
    for (const w of waiters.splice(0)) {
      if (conversationCount() >= w.n) w.resolve();
      else waiters.push(w);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    const body = await readBody(req);
    const isMessages = req.method === 'POST' && path.startsWith('/v1/messages') && !path.startsWith('/v1/messages/count_tokens');
    // The conversation: streamed requests that offer tools. Side requests (titles, summaries) offer none.
    const scripted = isMessages && body?.stream === true && Array.isArray(body.tools) && body.tools.length > 0;
    if (options.record !== false) requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, scripted });
    wake();
    if (req.method === 'HEAD' || req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.method === 'HEAD' ? undefined : '{}');
      return;
    }
    if (path.startsWith('/v1/messages/count_tokens')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: 100 }));
      return;
    }
    if (!isMessages) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no ${path} here` } }));
      return;
    }
    const model = typeof body?.model === 'string' ? body.model : 'claude-sonnet-4-5';
    let reply: Reply = { text: 'Done.' };
    if (scripted) {
      if (sticky !== null) reply = sticky;
      else {
        const queued = queue.shift();
        const next = typeof queued === 'function' ? queued(body) : queued ?? options.respond?.(body);
        if (next !== undefined) reply = next;
        if (isError(reply) && reply.always === true) sticky = reply;
      }
    }
    if (!isError(reply) && reply.delayMs !== undefined) await wait(reply.delayMs);
    if (isError(reply)) {
      sendError(res, reply);
      return;
    }
    if (body?.stream !== true) {
      const usage = { ...DEFAULT_USAGE, ...reply.usage };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: nextId('msg'), type: 'message', role: 'assistant', model, content: [{ type: 'text', text: reply.text ?? 'Done.' }], stop_reason: 'end_turn', stop_sequence: null, usage }));
      return;
    }
    await streamReply(res, model, reply);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  // Streams the binary abandons (a killed turn) must not hold close() up.
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

  return {
    url,
    requests,
    conversation: () => requests.filter((r) => r.scripted),
    script: (...replies) => { queue.push(...replies); },
    waitForRequests: (n) => new Promise((resolve) => {
      waiters.push({ n, resolve });
      wake();
    }),
    env: (configDir) => ({
      ANTHROPIC_BASE_URL: url,
      ANTHROPIC_API_KEY: 'sk-ant-stand-in',
      CLAUDE_CONFIG_DIR: configDir,
      // The binary's own retries (10 over ~3 minutes by default) kept short, so error tests stay fast.
      CLAUDE_CODE_MAX_RETRIES: '1',
      CLAUDE_CODE_OVERLOADED_RETRY_BASE_DELAY_MS: '10',
      CLAUDE_CODE_OVERLOADED_RETRY_MAX_DELAY_MS: '20',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
    },
  };
}
