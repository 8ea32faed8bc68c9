/**
 * Server rendering of the pages. The dashboard is a local app (no crawlers, no slow networks), so a
 * page is sent once fully rendered. `handleError` keeps the server log for real faults: a
 * method or a path a page does not have (405, 404) is the client's mistake, answered and not logged.
 */
import { PassThrough } from 'node:stream';
import { createReadableStreamFromReadable } from '@react-router/node';
import { renderToPipeableStream } from 'react-dom/server';
import { ServerRouter, isRouteErrorResponse, type AppLoadContext, type EntryContext, type HandleErrorFunction } from 'react-router';
import { NonceContext } from './lib/nonce';

const RENDER_TIMEOUT_MS = 10_000;

export default function handleRequest(request: Request, status: number, headers: Headers, context: EntryContext, loadContext: AppLoadContext): Promise<Response> {
  if (request.method === 'HEAD') return Promise.resolve(new Response(null, { status, headers }));
  return new Promise((resolve, reject) => {
    let failed = false;
    const nonce = loadContext.nonce;
    const app = <NonceContext.Provider value={nonce}><ServerRouter context={context} url={request.url} nonce={nonce} /></NonceContext.Provider>;
    const { pipe, abort } = renderToPipeableStream(app, {
      nonce,
      onAllReady() {
        const body = new PassThrough();
        headers.set('Content-Type', 'text/html; charset=utf-8');
        resolve(new Response(createReadableStreamFromReadable(body), { status: failed ? 500 : status, headers }));
        pipe(body);
        clearTimeout(timer);
      },
      onShellError(error: unknown) {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
      onError(error: unknown) {
        failed = true;
        console.error(error);
      },
    });
    const timer = setTimeout(() => { abort(); }, RENDER_TIMEOUT_MS);
  });
}

export const handleError: HandleErrorFunction = (error, { request }) => {
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status < 500) return;
  const internal = error as { status?: number };
  if (typeof internal.status === 'number' && internal.status < 500) return;
  console.error(error);
};
