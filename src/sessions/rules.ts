/**
 * Permission rules, as Claude Code spells them in `allowedTools`: a tool name (`Write`: every use),
 * or a tool with a specifier — `Bash(npm test:*)` (commands starting with `npm test`),
 * `Bash(git status)` (that command exactly), `WebFetch(domain:example.com)`, `Edit(/src/**)`
 * (paths under a folder). agentq applies them itself to requests that reach it during a turn
 * (a rule added by "allow for the session" while the turn runs), and passes them to Claude Code
 * for the turns after.
 */

import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ValidationError } from '../store/errors.js';
import type { Approval, ApprovalAnswer, ApprovalScope } from '../store/session-contract.js';

/** An answer to an approval request, as a person gives it (the API, the page, the CLI). */
export interface ApprovalDecision {
  decision: 'allow' | 'deny';
  /** For allow: this request only (default), or every like it for the rest of the session. */
  scope?: ApprovalScope;
  /** For allow for the session: the rule added to the session's allowed tools (default: suggested from the request). */
  rule?: string;
  /** For deny: what the agent is told. */
  message?: string;
}

/** The stored answer for a person's decision on `request` (an allow for the session gets the suggested rule unless given one). */
export function answerFor(request: Approval, decision: ApprovalDecision): ApprovalAnswer {
  const d = decision as Partial<ApprovalDecision> | null;
  if (d === null || typeof d !== 'object') throw new ValidationError('answer', 'must be an object with decision "allow" or "deny"');
  if (d.decision !== 'allow' && d.decision !== 'deny') throw new ValidationError('decision', 'must be "allow" or "deny"');
  const rule = d.decision === 'allow' && d.scope === 'session' ? d.rule ?? suggestRule(request.tool, (request.input ?? {}) as Record<string, unknown>) : d.rule;
  return {
    status: d.decision === 'allow' ? 'allowed' : 'denied',
    ...(d.scope === undefined ? {} : { scope: d.scope }),
    ...(rule === undefined ? {} : { rule }),
    ...(d.message === undefined || d.message === '' ? {} : { message: d.message }),
  };
}

/** Whether `rule` allows this use of `tool` with `input`. A rule it cannot read allows nothing. */
export function ruleAllows(rule: string, tool: string, input: Record<string, unknown>): boolean {
  const m = /^([^()]+?)(?:\((.*)\))?$/s.exec(rule.trim());
  if (m === null || m[1] !== tool) return false;
  const spec = m[2];
  if (spec === undefined || spec === '*' || spec === '') return true;
  if (tool === 'Bash') {
    const command = typeof input.command === 'string' ? input.command.trim() : null;
    if (command === null) return false;
    if (!spec.endsWith(':*')) return command === spec;
    const prefix = spec.slice(0, -2);
    // A prefix matches whole words only, and never a command that chains another after it.
    return (command === prefix || command.startsWith(`${prefix} `)) && !/[;&|`$<>\n]/.test(command);
  }
  if (tool === 'WebFetch' && spec.startsWith('domain:')) {
    try {
      const host = new URL(String(input.url)).hostname;
      const domain = spec.slice('domain:'.length);
      return host === domain || host.endsWith(`.${domain}`);
    } catch {
      return false;
    }
  }
  const path = [input.file_path, input.notebook_path, input.path].find((p): p is string => typeof p === 'string');
  if (path === undefined) return false;
  if (spec.endsWith('/**')) return path.startsWith(spec.slice(0, -2));
  return path === spec;
}

/** Whether any of `rules` allows this use. */
export function rulesAllow(rules: readonly string[] | undefined, tool: string, input: Record<string, unknown>): string | null {
  return rules?.find((r) => ruleAllows(r, tool, input)) ?? null;
}

/**
 * The rule an "allow for the session" adds unless the user writes another: for Bash the command's
 * program and subcommand (`npm test`, `git status`: `Bash(npm test:*)`), otherwise the tool.
 */
export function suggestRule(tool: string, input: Record<string, unknown>): string {
  if (tool !== 'Bash' || typeof input.command !== 'string') return tool;
  const words = input.command.trim().split(/\s+/);
  const [program, sub] = words;
  if (program === undefined || program === '' || /[;&|`$<>]/.test(program)) return tool;
  const prefix = sub !== undefined && /^[a-z][\w:-]*$/i.test(sub) ? `${program} ${sub}` : program;
  return `Bash(${prefix}:*)`;
}

/** Files larger than this are not shown whole beside a Write's new content. */
const SHOWN_FILE_BYTES = 256 * 1024;

/**
 * What a Write would replace: the file's current text, when it is an existing file of at most
 * 256 KB; null otherwise (a new file, or one too large to show). Read when the request is shown,
 * so the diff is against the file as it is then.
 */
export function fileBefore(tool: string, input: Record<string, unknown>): string | null {
  const path = input.file_path;
  if (tool !== 'Write' || typeof path !== 'string' || !isAbsolute(path)) return null;
  try {
    const stat = statSync(path);
    return stat.isFile() && stat.size <= SHOWN_FILE_BYTES ? readFileSync(path, 'utf8') : null;
  } catch {
    return null;
  }
}

/** A request as people see it: with the rule an allow for the session adds, and what a Write replaces. */
export function withSuggestion(a: Approval): Approval & { suggestedRule: string; fileBefore: string | null } {
  const input = (a.input ?? {}) as Record<string, unknown>;
  return { ...a, suggestedRule: suggestRule(a.tool, input), fileBefore: a.status === 'pending' ? fileBefore(a.tool, input) : null };
}
