/**
 * Node http ⇄ Fetch API, written for this server rather than taken from an adapter because two
 * guarantees depend on it: request bodies are counted while they arrive (a body over the limit is
 * refused without being read whole), and response bodies are written with backpressure (a slow
 * reader stops the stream's producer instead of growing the socket's buffer), which the live
 * stream's memory bound relies on.
 */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { BodyTooLargeError, attachBody, responseText } from './api/http.js';

/**
 * Read a request body into memory, at most `limit` bytes: past that, reading stops and the promise
 * rejects with BodyTooLargeError (the rest of the body is never buffered). Bodies are small JSON
 * documents, so one buffer is cheaper than a web stream per request.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        cleanup();
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** A Fetch Request for a Node request whose body (if any) was read with `readBody` (see `attachBody`). */
export function toRequest(req: IncomingMessage, url: URL, body: Buffer | null, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const [name, value] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
    if (name !== undefined && value !== undefined) headers.append(name, value);
  }
  const request = new Request(url, { method: req.method ?? 'GET', headers, signal });
  if (body !== null) attachBody(request, body);
  return request;
}

/** Whether the request announces a body (a length above 0, or chunked transfer). */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * Headers on every response. The policy lets pages run only this server's scripts and the inline
 * ones React Router writes with the response's nonce; nothing may frame a page, load plugins, move
 * the base URL, or read a response from another origin. Styles may be inline: React renders `style`
 * attributes (the virtual lists position rows with them), and a style cannot run code.
 */
export function securityHeaders(nonce?: string): [string, string][] {
  const scripts = nonce === undefined ? "'self'" : `'self' 'nonce-${nonce}'`;
  return [
    ['content-security-policy', `default-src 'self'; script-src ${scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'`],
    ['cross-origin-resource-policy', 'same-origin'],
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'no-referrer'],
    ['x-frame-options', 'DENY'],
  ];
}

const SECURITY_HEADERS = securityHeaders();

/** Write a Fetch Response to Node, waiting for the socket to drain between chunks. */
export async function sendResponse(res: ServerResponse, response: Response, method: string, nonce?: string): Promise<void> {
  const raw: string[] = [];
  for (const [key, value] of response.headers) if (key !== 'set-cookie') raw.push(key, value);
  for (const cookie of response.headers.getSetCookie()) raw.push('set-cookie', cookie);
  for (const [key, value] of securityHeaders(nonce)) if (!response.headers.has(key)) raw.push(key, value);
  const text = responseText(response);
  if (text !== undefined) {
    raw.push('content-length', String(Buffer.byteLength(text)));
    res.writeHead(response.status, raw);
    res.end(method === 'HEAD' ? undefined : text);
    return;
  }
  res.writeHead(response.status, raw);
  if (response.body === null || method === 'HEAD') {
    // A body nobody will read (HEAD) is cancelled, so whatever produces it (a live stream's slot) ends now.
    await response.body?.cancel().catch(() => undefined);
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const closed = new Promise<void>((r) => res.once('close', r));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), closed.then(() => null)]);
      if (next === null || next.done) break;
      if (!res.write(next.value)) {
        await Promise.race([new Promise<void>((r) => res.once('drain', r)), closed]);
      }
      if (res.destroyed) break;
    }
  } finally {
    if (res.destroyed) await reader.cancel().catch(() => undefined);
    res.end();
  }
}

/** A small JSON answer written directly (for rejections before a Request exists). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...Object.fromEntries(SECURITY_HEADERS),
    ...headers,
  });
  res.end(text);
}

/** The page a browser that is not logged in gets (401): how to log in, and nothing else. */
export function sendLoginPage(res: ServerResponse, message: string): void {
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`([^`]+)`/g, '<code>$1</code>');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in · agentq</title></head><body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5"><h1>agentq: log in</h1><p>This browser is not logged in (or its session ended).</p><p>${escaped}.</p></body></html>`;
  res.writeHead(401, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(html),
    ...Object.fromEntries(SECURITY_HEADERS),
  });
  res.end(html);
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serve a built client file (`/assets/…` or `/favicon.ico`) from `root`; false if the path is not
 * such a file. Paths that resolve outside `root` are never served.
 */
export function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, root: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (!pathname.startsWith('/assets/') && pathname !== '/favicon.ico' && pathname !== '/favicon.svg') return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  const file = resolve(root, `.${decoded}`);
  if (!file.startsWith(root + sep) || decoded.includes('\0')) return false;
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return false;
    size = st.size;
  } catch {
    return false;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600',
    ...Object.fromEntries(SECURITY_HEADERS),
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
  return true;
}
