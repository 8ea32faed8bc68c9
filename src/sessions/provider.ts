/**
 * The AgentProvider seam: something that runs one agent turn and streams the agent's messages.
 * Messages have the Claude Agent SDK's shapes (`system`/`init`, `assistant`, `user`, `result`, …);
 * the runner stores every one as a session event.
 */
import type { PermissionMode, SessionSettings } from '../store/session-contract.js';

/** An SDK message: a JSON object with a `type` (and for `system`, a `subtype`). */
export interface AgentMessage {
  type: string;
  subtype?: string;
  session_id?: string;
  [key: string]: unknown;
}

export interface AgentRunParams {
  prompt: string;
  /** The project directory the agent works in. */
  cwd: string;
  /** The agent session to continue (only valid in the same cwd it was created in). */
  resume: string | null;
  settings: SessionSettings;
  /** Aborting it must end the run promptly (the iterator throws) and leave no child process. */
  signal: AbortSignal;
  /**
   * Asked whenever the agent wants a tool its permission mode and rules do not already allow; the
   * agent waits for the decision. Without it, such uses are denied (the SDK's default).
   */
  askTool?: (request: ToolRequest) => Promise<ToolDecision>;
  /** Called once the run can be steered (e.g. its permission mode changed while it runs). */
  onControl?: (control: AgentControl) => void;
}

/** The agent asks to use a tool. */
export interface ToolRequest {
  tool: string;
  input: Record<string, unknown>;
  /** The SDK's id of this tool call (ties it to the `tool_use` block in the log). */
  toolUseId: string | null;
  /** Why the agent's own rules did not allow it, where it says (e.g. a path outside the project). */
  reason: string | null;
  /** Aborted when the agent stops waiting (its turn was interrupted). */
  signal: AbortSignal;
}

export type ToolDecision = { behavior: 'allow' } | { behavior: 'deny'; message: string };

/** What can be changed in a running turn. */
export interface AgentControl {
  setPermissionMode(mode: PermissionMode): Promise<void>;
}

export interface AgentProvider {
  readonly name: string;
  run(params: AgentRunParams): AsyncIterable<AgentMessage>;
  /**
   * End agent processes that a crashed earlier run of this server left behind; called once at
   * start, before any session is touched. Returns how many were ended.
   */
  reapStrays?(): number;
  /** Stop every agent process this provider runs (at shutdown, after turns were aborted). */
  stopAll?(): Promise<void>;
}

/** Thrown (as the SDK does) when a run is aborted. */
export class AgentAbortError extends Error {
  constructor(message = 'the agent run was aborted') {
    super(message);
    this.name = 'AbortError';
  }
}
