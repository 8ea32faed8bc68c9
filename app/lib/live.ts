/**
 * The live stream in the browser: one EventSource per page, reconnecting by itself with
 * Last-Event-ID (the server replays what was missed); `resync` means notices were lost, so the
 * page reloads its data.
 */
import { useEffect, useRef, useState } from 'react';
import { JOB_EVENT_NAMES } from '../../src/queue/event-names';

export type StreamHandler = (event: string, data: unknown) => void;

const EVENTS = ['ready', 'resync', 'session:updated', 'session:events', 'session:partial', ...JOB_EVENT_NAMES];

/**
 * Subscribe to /api/stream with `query`; returns whether the stream is connected. The browser
 * reconnects a dropped stream by itself; one it gave up on (the server was restarting and refused
 * it) is opened again here, with backoff, and the page told to `resync` (what it missed meanwhile
 * is not replayed to a new stream).
 */
export function useStream(query: string, handler: StreamHandler): boolean {
  const latest = useRef(handler);
  latest.current = handler;
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let attempt = 0;
    let closed = false;
    const open = (reopened: boolean): void => {
      const s = new EventSource(`/api/stream${query}`);
      source = s;
      for (const name of EVENTS) {
        s.addEventListener(name, ((e: MessageEvent<string>) => {
          if (name === 'ready') {
            setConnected(true);
            attempt = 0;
            if (reopened) latest.current('resync', {});
          }
          latest.current(name, JSON.parse(e.data) as unknown);
        }) as EventListener);
      }
      s.onerror = () => {
        setConnected(false);
        if (s.readyState !== EventSource.CLOSED || closed) return;
        attempt += 1;
        retry = setTimeout(() => { open(true); }, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)));
      };
    };
    open(false);
    return () => {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      source?.close();
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
