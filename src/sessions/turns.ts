/**
 * What an agent's messages mean for its turn: which errors are worth retrying by resuming, which
 * wait, which end the turn (and how to say so), which messages are only shown live, and each
 * result's share of cost and tokens.
 */
import type { AgentMessage } from './provider.js';
import type { SessionSettings } from '../store/session-contract.js';

/** The API errors after which the agent cannot go on until someone logs in. */
export const AUTH_ERRORS = new Set(['authentication_failed', 'billing_error']);
export const TRANSIENT_ERRORS = new Set(['rate_limit', 'overloaded', 'server_error']);
/** System messages that are progress ticks: shown live, not kept. */
const LIVE_ONLY_SYSTEM = new Set(['status', 'thinking_tokens']);

/** Whether a message is only broadcast (`session:partial`), never stored: partial output and progress ticks. */
export function isLiveOnly(m: AgentMessage): boolean {
  return m.type === 'stream_event' || (m.type === 'system' && LIVE_ONLY_SYSTEM.has(m.subtype ?? ''));
}
/** How long a turn rejected with 429 (and no known reset) waits before trying again. */
const RATE_LIMIT_WAIT_MS = 60_000;

export const LOGIN_HINT = 'log in with `claude login` or set ANTHROPIC_API_KEY for the agentq process, then resume the session';
/** Why a turn ended badly, decided from the agent's messages (the SDK throws after them, less precisely). */
export type Verdict =
  | { kind: 'transient'; message: string }
  | { kind: 'snooze'; ms: number; message: string }
  | { kind: 'fatal'; message: string };

interface Usage { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number }
interface ModelUsage { inputTokens?: number; outputTokens?: number; cacheReadInputTokens?: number; cacheCreationInputTokens?: number; costUSD?: number }

/**
 * One result's share of cost and tokens. Results since the SDK 0.3 carry
 * `model_usage_since_last_result` (this result alone, per model); without it, `usage` is this
 * run's and `total_cost_usd` is cumulative over the agent session, so the turn's cost is the
 * difference from the last total seen.
 */
export function resultShare(m: AgentMessage, lastTotalUsd: number): { costUsd: number; inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number } {
  const since = m.model_usage_since_last_result as Record<string, ModelUsage> | null | undefined;
  if (typeof since === 'object' && since !== null) {
    const models = Object.values(since);
    const sum = (f: (u: ModelUsage) => number | undefined): number => models.reduce((a, u) => a + (f(u) ?? 0), 0);
    return { costUsd: sum((u) => u.costUSD), inputTokens: sum((u) => u.inputTokens), outputTokens: sum((u) => u.outputTokens), cacheReadTokens: sum((u) => u.cacheReadInputTokens), cacheCreationTokens: sum((u) => u.cacheCreationInputTokens) };
  }
  const usage = (m.usage ?? {}) as Usage;
  const total = typeof m.total_cost_usd === 'number' ? m.total_cost_usd : lastTotalUsd;
  return {
    costUsd: total >= lastTotalUsd ? total - lastTotalUsd : total,
    inputTokens: usage.input_tokens ?? 0, outputTokens: usage.output_tokens ?? 0,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0, cacheCreationTokens: usage.cache_creation_input_tokens ?? 0,
  };
}

export function toolUsesIn(message: AgentMessage): number {
  const content = (message.message as { content?: unknown } | undefined)?.content;
  return Array.isArray(content) ? content.filter((c) => (c as { type?: unknown }).type === 'tool_use').length : 0;
}

export function textOf(message: AgentMessage): string | null {
  const content = (message.message as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content)) return null;
  const parts = content.filter((c): c is { type: 'text'; text: string } => (c as { type?: unknown }).type === 'text' && typeof (c as { text?: unknown }).text === 'string');
  return parts.length === 0 ? null : parts.map((p) => p.text).join('\n');
}
/**
 * What an error result means for the turn. 429 waits (without spending an attempt), overloads and
 * server errors are retried by resuming, a refused login fails with how to log in, and any other
 * API error (a prompt too long, a bad request) fails with the API's own words.
 */
export function judgeErrorResult(m: AgentMessage): Verdict | null {
  const status = typeof m.api_error_status === 'number' ? m.api_error_status : null;
  if (status === null) return null;
  const said = typeof m.result === 'string' && m.result !== '' ? m.result : `API error ${String(status)}`;
  if (status === 429) return { kind: 'snooze', ms: RATE_LIMIT_WAIT_MS, message: `the API is rate limiting this account (429); trying again in ${String(RATE_LIMIT_WAIT_MS / 1_000)} s: ${said}` };
  if (status === 401 || status === 403) return { kind: 'fatal', message: `the agent could not authenticate (${String(status)}): ${LOGIN_HINT}` };
  if (status === 408 || status === 409 || status === 529 || status >= 500) return { kind: 'transient', message: `the API answered ${String(status)} after the agent's own retries` };
  return { kind: 'fatal', message: `the API refused the request (${String(status)}): ${said}` };
}

/** A turn that ended without success, in words. */
export function endedBecause(subtype: string, settings: SessionSettings): string {
  switch (subtype) {
    case 'error_max_turns': return `the agent reached its turn limit (maxTurns ${settings.maxTurns === undefined ? 'default' : String(settings.maxTurns)}); raise it in the session settings, or send a follow-up to continue`;
    case 'error_max_budget_usd': return `the agent reached its budget (maxBudgetUsd ${settings.maxBudgetUsd === undefined ? 'default' : String(settings.maxBudgetUsd)}); raise it in the session settings, or send a follow-up to continue`;
    default: return `the agent ended the turn with ${subtype}`;
  }
}
