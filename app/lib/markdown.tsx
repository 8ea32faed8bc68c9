/** @jsxRuntime automatic */
/**
 * A small Markdown renderer for assistant text: paragraphs, headings, fenced code, lists, inline
 * code, bold, italics and links. It builds React elements (never HTML strings), so agent output
 * cannot inject markup.
 *
 * It runs in time linear in its input, whatever the input: agent output is untrusted, and a
 * backtracking pattern over `[[[[…` took 24 s for 200,000 characters (react-markdown took 2.3 s on
 * that, and minutes on `*a*a…`). Inline spans are found with one forward scan over tables of "next
 * delimiter" positions built in one backward pass, so no character is examined more than a fixed
 * number of times. A block longer than INLINE_LIMIT characters is shown as plain text, and so is
 * the rest of one past SPAN_LIMIT formatted spans (each is a React element to render).
 */
import type { ReactNode } from 'react';

/** Longest text whose inline formatting is rendered; longer blocks are plain text. */
export const INLINE_LIMIT = 20_000;
/** Most formatted spans in one block; the rest of a block with more is plain text. */
export const SPAN_LIMIT = 1_000;

/** For each position, the index of the next character (at or after it) that `stop` accepts, or n. */
function nextIndex(text: string, stop: (code: number) => boolean): Int32Array {
  const n = text.length;
  const next = new Int32Array(n + 1);
  next[n] = n;
  for (let i = n - 1; i >= 0; i--) next[i] = stop(text.charCodeAt(i)) ? i : (next[i + 1] as number);
  return next;
}

const TICK = 96; // `
const STAR = 42; // *
const OPEN = 91; // [
const CLOSE = 93; // ]
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0x2028 || c === 0x2029 || c === 0xfeff;

export function inline(text: string, key: string): ReactNode[] {
  if (text.length > INLINE_LIMIT) return [text];
  const n = text.length;
  const tick = nextIndex(text, (c) => c === TICK);
  const star = nextIndex(text, (c) => c === STAR);
  const bracket = nextIndex(text, (c) => c === OPEN || c === CLOSE);
  // A link's URL ends at `)`; whitespace or a bracket means it is not one.
  const urlStop = nextIndex(text, (c) => c === 41 || c === 40 || c === OPEN || c === CLOSE || isSpace(c));
  const out: ReactNode[] = [];
  let plain = 0;
  let count = 0;
  const emit = (at: number, end: number, node: (k: string) => ReactNode): void => {
    if (at > plain) out.push(text.slice(plain, at));
    out.push(node(`${key}-${String(count++)}`));
    plain = end;
  };
  let i = 0;
  while (i < n && count < SPAN_LIMIT) {
    const c = text.charCodeAt(i);
    if (c === TICK) {
      const j = tick[i + 1] as number;
      if (j < n && j > i + 1) {
        const body = text.slice(i + 1, j);
        emit(i, j + 1, (k) => <code key={k}>{body}</code>);
        i = j + 1;
        continue;
      }
    } else if (c === STAR) {
      if (text.charCodeAt(i + 1) === STAR) {
        const j = star[i + 2] as number;
        if (j < n && j > i + 2 && text.charCodeAt(j + 1) === STAR) {
          const body = text.slice(i + 2, j);
          emit(i, j + 2, (k) => <strong key={k}>{body}</strong>);
          i = j + 2;
          continue;
        }
      }
      const j = star[i + 1] as number;
      if (j < n && j > i + 1 && !isSpace(text.charCodeAt(i + 1))) {
        const body = text.slice(i + 1, j);
        emit(i, j + 1, (k) => <em key={k}>{body}</em>);
        i = j + 1;
        continue;
      }
    } else if (c === OPEN) {
      const j = bracket[i + 1] as number;
      if (j < n && j > i + 1 && text.charCodeAt(j) === CLOSE && text.charCodeAt(j + 1) === 40) {
        const scheme = text.startsWith('https://', j + 2) ? 8 : text.startsWith('http://', j + 2) ? 7 : 0;
        const from = j + 2 + scheme;
        const end = scheme === 0 ? n : (urlStop[from] as number);
        if (scheme > 0 && end < n && end > from && text.charCodeAt(end) === 41) {
          const label = text.slice(i + 1, j);
          const href = text.slice(j + 2, end);
          emit(i, end + 1, (k) => <a key={k} href={href} rel="noreferrer noopener" target="_blank">{label}</a>);
          i = end + 1;
          continue;
        }
      }
    }
    i += 1;
  }
  if (plain < n) out.push(text.slice(plain));
  return out;
}

export function Markdown({ text }: { text: string }) {
  const blocks: ReactNode[] = [];
  const lines = text.split('\n');
  let i = 0;
  let n = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const key = `b${String(n++)}`;
    if (line.startsWith('```')) {
      const code: string[] = [];
      i += 1;
      while (i < lines.length && !(lines[i] ?? '').startsWith('```')) code.push(lines[i++] ?? '');
      i += 1;
      blocks.push(<pre key={key}><code>{code.join('\n')}</code></pre>);
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading !== null) {
      blocks.push(<p key={key}><strong>{inline(heading[2] ?? '', key)}</strong></p>);
      i += 1;
      continue;
    }
    if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const items: string[] = [];
      const ordered = /^\s*\d+\./.test(line);
      while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i] ?? '')) items.push((lines[i++] ?? '').replace(/^\s*([-*]|\d+\.)\s+/, ''));
      const children = items.map((item, j) => <li key={j}>{inline(item, `${key}-${String(j)}`)}</li>);
      blocks.push(ordered ? <ol key={key}>{children}</ol> : <ul key={key}>{children}</ul>);
      continue;
    }
    if (line.trim() === '') {
      i += 1;
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && (lines[i] ?? '').trim() !== '' && !(lines[i] ?? '').startsWith('```') && !/^\s*([-*]|\d+\.)\s+/.test(lines[i] ?? '')) para.push(lines[i++] ?? '');
    blocks.push(<p key={key}>{inline(para.join(' '), key)}</p>);
  }
  return <div className="md">{blocks}</div>;
}
