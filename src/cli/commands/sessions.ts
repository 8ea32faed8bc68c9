/** Agent sessions from the command line: a session's worktree, approval requests, the defaults of new sessions. */
import { assertDefaultsAllowed } from '../../sessions/service.js';
import { LIMITS, parseInteger } from '../../store/validation.js';
import { NotFoundError, ValidationError } from '../../store/errors.js';
import { APPROVAL_STATE_LIST, type Approval, type ApprovalState, type Session } from '../../store/session-contract.js';
import { SESSION_SETTING_KEYS } from '../../store/validation.js';
import { answerFor } from '../../sessions/rules.js';
import { EXIT, UsageError, type Command, withStore, describeToolInput, json, int, errorOf, callServer } from '../command.js';

export const worktree: Command = {
  usage: 'agentq worktree <session id> [changes] | commit [--message <text>] | merge [--merge-commit] [--message <text>] | rebase | discard --yes',
  summary: "a session's own git worktree: what it changed, and commit, merge into its base, rebase, discard (through the running server, after the session's current turn)",
  options: ['token-file', 'message', 'merge-commit', 'yes'],
  example: 'agentq worktree 12 merge',
  run: async (ctx) => {
    const [raw, sub = 'changes'] = ctx.args;
    if (raw === undefined) throw new UsageError("give the session's id: agentq worktree <id> [changes|commit|merge|rebase|discard]");
    const id = parseInteger('session id', raw, 1, Number.MAX_SAFE_INTEGER);
    const v = ctx.values;
    if (!['changes', 'commit', 'merge', 'rebase', 'discard'].includes(sub)) throw new UsageError(`"worktree ${sub}" is not a command; use changes, commit, merge, rebase or discard`);
    if (v['merge-commit'] === true && sub !== 'merge') throw new UsageError('--merge-commit goes with merge');
    if (v.yes === true && sub !== 'discard') throw new UsageError('--yes goes with discard');
    const path = `/api/sessions/${String(id)}/worktree`;
    const r = sub === 'changes'
      ? await callServer(ctx, 'GET', path)
      : await callServer(ctx, 'POST', path, {
        action: sub, ...(v.message === undefined ? {} : { message: v.message }), ...(v['merge-commit'] === true ? { mode: 'merge-commit' } : {}), ...(v.yes === true ? { confirm: true } : {}),
      });
    if (typeof r === 'number') return r;
    if (r.status >= 400) {
      const files = (r.body as { error?: { files?: string[] } }).error?.files ?? [];
      ctx.io.err(`agentq: ${errorOf(r.body)}${sub === 'discard' && v.yes !== true && r.status === 409 ? ' (agentq worktree <id> discard --yes)' : ''}\n${files.map((f) => `  ${f}\n`).join('')}`);
      return r.status === 404 ? EXIT.notFound : r.status === 409 ? EXIT.conflict : r.status === 400 ? EXIT.usage : EXIT.failed;
    }
    if (v.json === true) {
      json(ctx, r.body);
      return EXIT.ok;
    }
    if (sub === 'changes') {
      const c = r.body as { worktree: { branch: string; base: string; path: string }; missing: boolean; ahead: number; behind: number; uncommitted: string[]; files: { path: string; added: number; removed: number }[] };
      ctx.io.out(`${c.worktree.branch} against ${c.worktree.base} in ${c.worktree.path}${c.missing ? ' (the folder is gone)' : ''}: ${String(c.ahead)} ahead, ${String(c.behind)} behind, ${String(c.uncommitted.length)} uncommitted\n`);
      for (const f of c.files) ctx.io.out(`  +${String(f.added)} -${String(f.removed)}  ${f.path}${c.uncommitted.includes(f.path) ? ' (uncommitted)' : ''}\n`);
      return EXIT.ok;
    }
    const outcome = (r.body as { outcome: { commit: string | null } | null }).outcome;
    ctx.io.out(outcome === null ? `the ${sub} waits for the session's current turn to end\n` : `${sub}: done${outcome.commit === null ? '' : ` (${outcome.commit.slice(0, 12)})`}\n`);
    return EXIT.ok;
  },
};

export const approvals: Command = {
  usage: 'agentq approvals [list] [--session <id>] [--status <pending|allowed|denied|expired|interrupted>] | allow <id> [--for-session [--rule "<rule>"]] | deny <id> [--message "<text>"]',
  summary: "answer the agents' requests to use tools (what the session page asks)",
  options: ['session', 'status', 'limit', 'for-session', 'rule', 'message'],
  example: 'agentq approvals allow 12 --for-session --rule "Bash(npm test:*)"',
  run: (ctx) => withStore(ctx.settings, async (store) => {
    const [sub, raw] = ctx.args;
    const v = ctx.values;
    const show = (a: Approval): string => `#${String(a.id)} session ${String(a.sessionId)} ${a.status}${a.rule === null ? '' : ` (${a.rule})`}: ${a.tool} ${describeToolInput(a.input)}${a.message === null ? '' : ` — ${a.message}`}`;
    switch (sub) {
      case 'list':
      case undefined: {
        if (v.status !== undefined && !(APPROVAL_STATE_LIST as readonly string[]).includes(v.status)) throw new ValidationError('--status', `"${v.status}" is not an approval status; use ${APPROVAL_STATE_LIST.join(', ')}`);
        const limit = int('limit', v.limit, 1, LIMITS.approvalListMax);
        const sessionId = int('session', v.session, 1, Number.MAX_SAFE_INTEGER);
        const approvals = await store.sessions.approvalList({
          status: (v.status ?? (sessionId === undefined ? 'pending' : undefined)) as ApprovalState,
          ...(sessionId === undefined ? {} : { sessionId }),
          ...(limit === undefined ? {} : { limit }),
        });
        if (v.json === true) json(ctx, { approvals });
        else if (approvals.length === 0) ctx.io.out('no approval requests match\n');
        else for (const a of approvals) ctx.io.out(`${show(a)}\n`);
        return EXIT.ok;
      }
      case 'allow':
      case 'deny': {
        if (raw === undefined) throw new UsageError(`give the request's id: agentq approvals ${sub} <id> (agentq approvals lists them)`);
        const id = parseInteger('id', raw, 1, Number.MAX_SAFE_INTEGER);
        if (sub === 'allow' && v.message !== undefined) throw new UsageError('--message goes with deny: it is what the agent is told');
        if (sub === 'deny' && (v['for-session'] === true || v.rule !== undefined)) throw new UsageError('--for-session and --rule go with allow');
        if (v.rule !== undefined && v['for-session'] !== true) throw new UsageError('--rule names what --for-session allows: give both');
        const request = await store.sessions.approvalGet({ id });
        if (request === null) throw new NotFoundError('approval', id);
        const answered = await store.sessions.approvalAnswer({
          id,
          answer: answerFor(request, {
            decision: sub,
            ...(v['for-session'] === true ? { scope: 'session' as const } : {}),
            ...(v.rule === undefined ? {} : { rule: v.rule }),
            ...(v.message === undefined ? {} : { message: v.message }),
          }),
          now: Date.now(),
        });
        if (v.json === true) json(ctx, { approval: answered });
        else ctx.io.out(`${show(answered)}\n`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`"approvals ${sub}" is not a command; use approvals list, allow or deny`);
    }
  }),
};

export const defaults: Command = {
  usage: 'agentq defaults [show] | set <setting> <value> | unset <setting>',
  summary: 'the settings new sessions start with (the Settings page)',
  options: [],
  example: 'agentq defaults set permissionMode acceptEdits',
  run: (ctx) => withStore(ctx.settings, async (store) => {
    const [sub, key, raw] = ctx.args;
    let defaults = await store.sessions.defaultsGet();
    if (sub === 'set' || sub === 'unset') {
      if (key === undefined || !(SESSION_SETTING_KEYS as readonly string[]).includes(key)) {
        throw new UsageError(`name a setting: agentq defaults ${sub} <${SESSION_SETTING_KEYS.join('|')}>${sub === 'set' ? ' <value>' : ''}`);
      }
      if (sub === 'set' && raw === undefined) throw new UsageError(`give the value: agentq defaults set ${key} <value> (numbers and lists as JSON, e.g. '["Read","Bash(npm test:*)"]')`);
      // Numbers and lists are JSON; anything else is taken as text.
      let value: unknown = raw;
      if (raw !== undefined) {
        try {
          value = JSON.parse(raw);
        } catch {
          value = raw;
        }
      }
      const next = Object.fromEntries([...Object.entries(defaults).filter(([k]) => k !== key), ...(sub === 'set' ? [[key, value]] : [])]) as Record<string, unknown>;
      assertDefaultsAllowed(next, ctx.settings.allowBypassPermissions);
      defaults = await store.sessions.defaultsSet({ settings: next, now: Date.now() });
    } else if (sub !== undefined && sub !== 'show') {
      throw new UsageError(`"defaults ${sub}" is not a command; use defaults show, set or unset`);
    }
    if (ctx.values.json === true) json(ctx, { defaults });
    else if (Object.keys(defaults).length === 0) ctx.io.out('no defaults: new sessions start with Claude Code\'s own\n');
    else for (const [k, v] of Object.entries(defaults)) ctx.io.out(`${k}: ${JSON.stringify(v)}\n`);
    return EXIT.ok;
  }),
};

/** A session in one line, as `sessions list` and `show` print it. */
function sessionLine(s: Session): string {
  return `#${String(s.id)} ${s.status}${s.archived ? ' (archived)' : ''}  ${s.title}  ${s.projectPath}  $${s.costUsd.toFixed(4)}`;
}

export const sessions: Command = {
  usage: 'agentq sessions [list] [--archived] | show <id> | prompt <id> <text> [--after <session id>] | stop <id> | resume <id> [<text>] | archive <id> | unarchive <id> | delete <id> --yes',
  summary: 'agent sessions from the command line: list, show, send a prompt (optionally after another session\'s turn), stop, resume, archive, delete (through the running server)',
  options: ['token-file', 'archived', 'after', 'yes'],
  example: 'agentq sessions prompt 12 "review what session 11 did" --after 11',
  run: async (ctx) => {
    const [sub = 'list', raw, ...words] = ctx.args;
    const v = ctx.values;
    const need = (): number => {
      if (raw === undefined) throw new UsageError(`give the session's id: agentq sessions ${sub} <id>`);
      return parseInteger('session id', raw, 1, Number.MAX_SAFE_INTEGER);
    };
    const known = ['list', 'show', 'prompt', 'stop', 'resume', 'archive', 'unarchive', 'delete'];
    if (!known.includes(sub)) throw new UsageError(`"sessions ${sub}" is not a command; use ${known.join(', ')}`);
    if (v.after !== undefined && sub !== 'prompt') throw new UsageError('--after goes with prompt');
    if (v.yes === true && sub !== 'delete') throw new UsageError('--yes goes with delete');
    if (v.archived === true && sub !== 'list') throw new UsageError('--archived goes with list');
    let r: { status: number; body: unknown } | number;
    switch (sub) {
      case 'list':
        r = await callServer(ctx, 'GET', `/api/sessions?limit=500${v.archived === true ? '&archived=true' : ''}`);
        break;
      case 'show':
        r = await callServer(ctx, 'GET', `/api/sessions/${String(need())}`);
        break;
      case 'prompt': {
        const id = need();
        const prompt = words.join(' ').trim();
        if (prompt === '') throw new UsageError('give the prompt: agentq sessions prompt <id> "<text>"');
        const after = v.after === undefined ? undefined : parseInteger('--after', v.after, 1, Number.MAX_SAFE_INTEGER);
        r = await callServer(ctx, 'POST', `/api/sessions/${String(id)}/prompts`, { prompt, ...(after === undefined ? {} : { after: { sessionId: after } }) });
        break;
      }
      case 'stop':
        r = await callServer(ctx, 'POST', `/api/sessions/${String(need())}/stop`);
        break;
      case 'resume': {
        const id = need();
        const prompt = words.join(' ').trim();
        r = await callServer(ctx, 'POST', `/api/sessions/${String(id)}/resume`, prompt === '' ? {} : { prompt });
        break;
      }
      case 'archive':
      case 'unarchive':
        r = await callServer(ctx, 'PUT', `/api/sessions/${String(need())}`, { archived: sub === 'archive' });
        break;
      default: {
        const id = need();
        if (v.yes !== true) throw new UsageError(`deleting session ${String(id)} removes its whole conversation; say --yes to do it`);
        r = await callServer(ctx, 'DELETE', `/api/sessions/${String(id)}`);
      }
    }
    if (typeof r === 'number') return r;
    if (r.status >= 400) {
      ctx.io.err(`agentq: ${errorOf(r.body)}\n`);
      return r.status === 404 ? EXIT.notFound : r.status === 409 ? EXIT.conflict : r.status === 400 ? EXIT.usage : EXIT.failed;
    }
    if (v.json === true) {
      json(ctx, r.body);
      return EXIT.ok;
    }
    const body = r.body as { sessions?: Session[]; session?: Session; queuedPrompts?: { jobId: number; prompt: string }[]; job?: { id: number; status: string }; cancelled?: number; requested?: number };
    switch (sub) {
      case 'list':
        if ((body.sessions ?? []).length === 0) ctx.io.out(v.archived === true ? 'no archived sessions\n' : 'no sessions\n');
        for (const s of body.sessions ?? []) ctx.io.out(`${sessionLine(s)}\n`);
        break;
      case 'show': {
        const s = body.session as Session;
        ctx.io.out(`${sessionLine(s)}\nprovider ${s.provider}, ${String(s.inputTokens)} tokens in, ${String(s.outputTokens)} out${s.error === null ? '' : `\nerror: ${s.error}`}${s.preview === null ? '' : `\nlast: ${s.preview}`}\n`);
        for (const p of body.queuedPrompts ?? []) ctx.io.out(`  queued #${String(p.jobId)}: ${p.prompt}\n`);
        break;
      }
      case 'prompt':
      case 'resume':
        ctx.io.out(`job #${String(body.job?.id)} ${String(body.job?.status)}\n`);
        break;
      case 'stop':
        ctx.io.out(`stopped: ${String(body.requested ?? 0)} running, ${String(body.cancelled ?? 0)} queued\n`);
        break;
      case 'archive':
      case 'unarchive':
        ctx.io.out(`${sessionLine(body.session as Session)}\n`);
        break;
      default:
        ctx.io.out(`session ${raw ?? ''} deleted\n`);
    }
    return EXIT.ok;
  },
};
