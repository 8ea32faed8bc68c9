/**
 * Tool uses shown by kind, for the approval cards and the session's timeline: file edits as diffs
 * (the `diff` library), commands with their folder and output, to-do lists as checklists, URLs
 * as links, anything else as its JSON. Everything is built as React elements: agent output is
 * text, never markup.
 */
import { structuredPatch } from 'diff';
import { useState, type ReactNode } from 'react';

export type ToolInput = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One file's change as unified hunks: removed lines red, added green, three lines of context. */
export function FileDiff({ path, before, after }: { path: string; before: string; after: string }) {
  const patch = structuredPatch(path, path, before, after, '', '', { context: 3 });
  let added = 0;
  let removed = 0;
  for (const h of patch.hunks) {
    for (const l of h.lines) {
      if (l.startsWith('+')) added += 1;
      else if (l.startsWith('-')) removed += 1;
    }
  }
  return (
    <div className="diff" data-testid="diff">
      <div className="diff-head"><code>{path}</code> <span className="add">+{added}</span> <span className="del">−{removed}</span></div>
      <pre>
        {patch.hunks.map((h, i) => (
          <span key={i}>
            {i > 0 && <span className="hunk">⋯</span>}
            {h.lines.filter((l) => !l.startsWith('\\')).map((l, j) => (
              <span key={j} className={l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'ctx'}>{l}</span>
            ))}
          </span>
        ))}
      </pre>
    </div>
  );
}

/** The change an Edit, MultiEdit or Write makes (a Write against `before`, the file's text, when known); null for other tools. */
export function fileChange(tool: string, input: ToolInput, before = ''): ReactNode {
  const path = str(input.file_path);
  if (tool === 'Edit') return <FileDiff path={path} before={str(input.old_string)} after={str(input.new_string)} />;
  if (tool === 'MultiEdit' && Array.isArray(input.edits)) {
    return (input.edits as ToolInput[]).map((e, i) => <FileDiff key={i} path={path} before={str(e.old_string)} after={str(e.new_string)} />);
  }
  if (tool === 'Write') return <FileDiff path={path} before={before} after={str(input.content)} />;
  return null;
}

/** Long output folded to its first lines, with a way to see it all. */
export function Output({ text, error = false, lines = 20 }: { text: string; error?: boolean; lines?: number }) {
  const [open, setOpen] = useState(false);
  const all = text.split('\n');
  const long = all.length > lines;
  return (
    <div className={`output${error ? ' error' : ''}`} data-testid="output">
      <pre>{long && !open ? all.slice(0, lines).join('\n') : text}</pre>
      {long && <button type="button" className="link" onClick={() => { setOpen(!open); }}>{open ? 'Show less' : `Show all ${String(all.length)} lines`}</button>}
    </div>
  );
}

interface Todo { content?: string; status?: string; activeForm?: string }

/** A TodoWrite list as a checklist. */
export function Checklist({ todos }: { todos: Todo[] }) {
  return (
    <ul className="checklist" data-testid="todos">
      {todos.map((t, i) => (
        <li key={i} className={t.status}>
          <span aria-hidden="true">{t.status === 'completed' ? '☑' : t.status === 'in_progress' ? '◐' : '☐'}</span> {t.status === 'in_progress' ? t.activeForm ?? t.content : t.content}
        </li>
      ))}
    </ul>
  );
}

/** A tool's input as it will act (or acted): what a reviewer needs to see to judge it. */
export function ToolInputView({ tool, input, cwd, before }: { tool: string; input: ToolInput; cwd?: string; before?: string }) {
  const change = fileChange(tool, input, before);
  if (change !== null) return <>{change}</>;
  if (tool === 'Bash') {
    return (
      <div className="command" data-testid="command">
        {typeof input.description === 'string' && <div className="muted">{input.description}</div>}
        <pre><span className="muted">{cwd === undefined ? '' : `${cwd} `}$ </span>{str(input.command)}</pre>
      </div>
    );
  }
  if (tool === 'WebFetch' || tool === 'WebSearch') {
    return (
      <div data-testid="url">
        {typeof input.url === 'string' ? <code>{input.url}</code> : <code>{str(input.query)}</code>}
        {typeof input.prompt === 'string' && <div className="muted">{input.prompt}</div>}
      </div>
    );
  }
  if (tool === 'TodoWrite' && Array.isArray(input.todos)) return <Checklist todos={input.todos as Todo[]} />;
  return <pre data-testid="raw-input">{JSON.stringify(input, null, 2)}</pre>;
}

/** One line naming what a tool use acts on (its command, file, pattern or URL). */
export function toolSummary(input: ToolInput | undefined): string {
  if (input === undefined) return '';
  for (const key of ['command', 'file_path', 'notebook_path', 'path', 'pattern', 'url', 'query', 'description', 'prompt']) {
    const v = input[key];
    if (typeof v === 'string') return v.split('\n')[0]?.slice(0, 140) ?? '';
  }
  return JSON.stringify(input).slice(0, 140);
}
