/**
 * A session's settings on its page: the permission mode (changed at once, also in a running turn)
 * and the rest (model, limits, tool rules), saved together and applied from the next turn.
 */
import { useEffect, useState, type SyntheticEvent } from 'react';
import { field, send } from './format';

export interface Settings {
  model?: string;
  permissionMode?: string;
  maxTurns?: number;
  maxBudgetUsd?: number;
  allowedTools?: string[];
  disallowedTools?: string[];
  projectSettings?: boolean;
}

export const PERMISSION_MODES = [
  { mode: 'default', label: 'Ask first (default)' },
  { mode: 'acceptEdits', label: 'Edit files (acceptEdits)' },
  { mode: 'plan', label: 'Plan only (plan)' },
];
export const BYPASS_MODE = { mode: 'bypassPermissions', label: 'Anything, no questions (bypassPermissions)' };

/** The permission mode select: saves on change; the running turn takes it at once. */
export function ModeSelect({ sessionId, mode, bypass, onSaved, onError }: { sessionId: number; mode: string; bypass: boolean; onSaved: (note: string) => void; onError: (e: string | null) => void }) {
  const modes = bypass || mode === BYPASS_MODE.mode ? [...PERMISSION_MODES, BYPASS_MODE] : PERMISSION_MODES;
  return (
    <label className="inline" title="What the agent may do without asking">
      Mode
      <select
        aria-label="Permission mode"
        data-testid="permission-mode"
        value={mode}
        onChange={(e) => {
          void send('PUT', `/api/sessions/${String(sessionId)}`, { settings: { permissionMode: e.target.value } }).then((r) => {
            onError(r.ok ? null : r.error);
            if (r.ok) onSaved((r.data as { appliedToRunningTurn?: boolean }).appliedToRunningTurn === true ? 'Mode changed, also for the running turn.' : 'Mode changed.');
          });
        }}
      >
        {modes.map((m) => <option key={m.mode} value={m.mode}>{m.label}</option>)}
      </select>
    </label>
  );
}

const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');

/**
 * Settings as a form; an emptied field goes back to the default. `path` and `key` say where they
 * are saved (`PUT /api/sessions/:id {settings}`, or `PUT /api/settings {defaults}`); `withMode`
 * adds the permission mode (the defaults page; a session changes it with ModeSelect).
 */
export function SettingsForm({ path, bodyKey, settings, withMode = false, bypass = false, saved, onSaved, onError }: {
  path: string; bodyKey: 'settings' | 'defaults'; settings: Settings; withMode?: boolean; bypass?: boolean; saved: string;
  onSaved: (note: string, settings: Settings) => void; onError: (e: string | null) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(0);
  // A rule added by "allow for session" shows up here: the form follows the stored settings.
  useEffect(() => { setVersion((v) => v + 1); }, [settings]);
  const submit = async (e: SyntheticEvent<HTMLFormElement>): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const num = (name: string): number | null => (field(form, name).trim() === '' ? null : Number(field(form, name)));
    const list = (name: string): string[] | null => (lines(field(form, name)).length === 0 ? null : lines(field(form, name)));
    setBusy(true);
    const r = await send('PUT', path, {
      [bodyKey]: {
        model: field(form, 'model').trim() === '' ? null : field(form, 'model').trim(),
        maxTurns: num('maxTurns'),
        maxBudgetUsd: num('maxBudgetUsd'),
        allowedTools: list('allowedTools'),
        disallowedTools: list('disallowedTools'),
        ...(bodyKey === 'settings' ? { projectSettings: form.get('projectSettings') === 'on' ? true : null } : {}),
        ...(withMode ? { permissionMode: field(form, 'permissionMode') === '' ? null : field(form, 'permissionMode') } : {}),
      },
    });
    setBusy(false);
    onError(r.ok ? null : r.error);
    if (r.ok) {
      const data = r.data as { session?: { settings: Settings }; defaults?: Settings };
      onSaved(saved, data.defaults ?? data.session?.settings ?? settings);
    }
  };
  const modes = bypass ? [...PERMISSION_MODES, BYPASS_MODE] : PERMISSION_MODES;
  return (
    <form key={version} className="settings-form" aria-label={bodyKey === 'defaults' ? 'Defaults of new sessions' : 'Session settings'} onSubmit={(e) => { void submit(e); }}>
      {withMode && (
        <label>Permission mode
          <select name="permissionMode" defaultValue={settings.permissionMode ?? ''}>
            <option value="">Claude Code's default (ask first)</option>
            {modes.map((m) => <option key={m.mode} value={m.mode}>{m.label}</option>)}
          </select>
        </label>
      )}
      <label>Model<input name="model" defaultValue={settings.model ?? ''} placeholder="Claude Code's default" /></label>
      <label>Max turns<input name="maxTurns" type="number" min={1} defaultValue={settings.maxTurns ?? ''} placeholder="no limit" /></label>
      <label>Budget (USD per turn)<input name="maxBudgetUsd" type="number" min={0.01} step={0.01} defaultValue={settings.maxBudgetUsd ?? ''} placeholder="no limit" /></label>
      <label>Allowed without asking (one rule per line)<textarea name="allowedTools" rows={3} defaultValue={(settings.allowedTools ?? []).join('\n')} placeholder={'Read\nBash(npm test:*)'} /></label>
      <label>Never allowed (one rule per line)<textarea name="disallowedTools" rows={3} defaultValue={(settings.disallowedTools ?? []).join('\n')} placeholder="WebFetch" /></label>
      {bodyKey === 'settings' && (
        <label className="check">
          <input type="checkbox" name="projectSettings" defaultChecked={settings.projectSettings === true} />
          <span>
            Load this project's own Claude Code settings (<code>.claude/settings.json</code>: hooks, permission rules, MCP servers).
            Only for a repository you trust: its hooks run commands as you. Its CLAUDE.md is read either way.
          </span>
        </label>
      )}
      <button type="submit" disabled={busy}>Save settings</button>
    </form>
  );
}
