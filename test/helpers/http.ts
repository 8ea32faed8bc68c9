/**
 * Requests that fetch() will not send: any Host header, any path exactly as written, a body cut off
 * mid-way. Answers come back as status, headers and text.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request through node:http, so Host and other headers fetch() forbids can be set. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * The request `head` (its lines, without the blank line that ends them) written to a socket exactly
 * as given, then `body` if any; resolves with the answer once the server closes the connection.
 */
export function rawSocket(port: number, head: string[], body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      if (body !== undefined) socket.write(body);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => { text += c; });
    socket.on('error', reject);
    socket.on('end', () => {
      const end = text.indexOf('\r\n\r\n');
      const [status = '', ...lines] = (end < 0 ? text : text.slice(0, end)).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(status.split(' ')[1]), headers, body: end < 0 ? '' : text.slice(end + 4) });
    });
  });
}

/** GET `path` sent exactly as given (fetch and node:http normalise it), with this server's Host. */
export function rawPath(port: number, path: string): Promise<RawAnswer> {
  return rawSocket(port, [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${String(port)}`, 'Connection: close']);
}
