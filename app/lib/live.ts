/**
 * The live stream in the browser: one EventSource per page, reconnecting by itself with
 * Last-Event-ID (the server replays what was missed); `resync` means notices were lost, so the
 * page reloads its data.
 */
import { useEffect, useRef, useState } from 'react';

export type StreamHandler = (event: string, data: unknown) => void;

const EVENTS = [
  'ready', 'resync', 'session:updated', 'session:events', 'session:partial',
  'job:enqueued', 'job:started', 'job:progress', 'job:completed', 'job:failed', 'job:retrying', 'job:snoozed',
  'job:cancelled', 'job:released', 'job:lost', 'job:stuck', 'job:rescued',
];

/** Subscribe to /api/stream with `query`; returns whether the stream is connected. */
export function useStream(query: string, handler: StreamHandler): boolean {
  const latest = useRef(handler);
  latest.current = handler;
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const source = new EventSource(`/api/stream${query}`);
    const listeners = EVENTS.map((name) => {
      const listener = (e: MessageEvent<string>): void => {
        if (name === 'ready') setConnected(true);
        latest.current(name, JSON.parse(e.data) as unknown);
      };
      source.addEventListener(name, listener as EventListener);
      return [name, listener] as const;
    });
    source.onerror = () => { setConnected(false); };
    return () => {
      for (const [name, listener] of listeners) source.removeEventListener(name, listener as EventListener);
      source.close();
    };
  }, [query]);
  return connected;
}

/** Call `fn` at most once per `ms`, trailing: bursts of events cause one reload. */
export function useThrottled(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => { if (timer.current !== null) clearTimeout(timer.current); }, []);
  return () => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  };
}
