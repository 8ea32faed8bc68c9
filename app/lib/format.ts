/** Display helpers shared by the pages. */

export function timeAgo(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1_000));
  if (s < 5) return 'just now';
  if (s < 60) return `${String(s)}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${String(m)}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${String(h)}h ago`;
  return `${String(Math.round(h / 24))}d ago`;
}

export function formatTime(ms: number | null): string {
  return ms === null ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

export function formatCost(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

const SESSION_LABELS: Record<string, string> = {
  not_started: 'not started',
  queued: 'queued',
  processing: 'working',
  waiting_for_input: 'needs input',
  error: 'error',
  completed: 'completed',
  stopped: 'stopped',
  interrupted: 'interrupted',
};

export function sessionLabel(status: string): string {
  return SESSION_LABELS[status] ?? status;
}

/** A form field's text ('' when absent or a file). */
export function field(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}

/** The error message of a JSON API response, or a generic one. */
export async function apiError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? `request failed (${String(res.status)})`;
  } catch {
    return `request failed (${String(res.status)})`;
  }
}

/** POST/PUT/DELETE JSON to the API from the page (the session cookie authenticates it). */
export async function send(method: string, path: string, body?: unknown): Promise<{ ok: true; data: unknown } | { ok: false; error: string }> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) return { ok: false, error: await apiError(res) };
  return { ok: true, data: await res.json() };
}
