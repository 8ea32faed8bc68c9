/**
 * The dashboard's Markdown renderer on hostile input (agent output is untrusted): server render
 * time of 200,000 characters of each kind, median of 7 runs, against the same length of plain
 * prose rendered in the same run (the baseline). Target: under 50 ms for `[` and `*`, and a ratio
 * near 1 for every kind (time grows with length, not with how the text is made).
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { Markdown } from '../app/lib/markdown.js';
import { emit, medianOf } from './lib.js';

const LENGTH = 200_000;
const RUNS = 7;

function time(text: string): number {
  const started = performance.now();
  renderToStaticMarkup(createElement(Markdown, { text }));
  return performance.now() - started;
}

const fill = (unit: string): string => unit.repeat(Math.ceil(LENGTH / unit.length)).slice(0, LENGTH);
/** Ten blocks just under the inline cap, so the inline scanner (not the cap) does the work. */
const blocks = (unit: string): string => Array.from({ length: 10 }, () => fill(unit).slice(0, 19_000)).join('\n\n');

export async function markdownBench(): Promise<void> {
  const sentence = 'The agent read the file and wrote a test for it. ';
  // Each hostile input, and plain prose laid out the same way (one block, or ten).
  const inputs: Record<string, [string, string]> = {
    open_brackets: [fill('['), fill(sentence)],
    stars: [fill('*'), fill(sentence)],
    open_brackets_in_blocks: [blocks('['), blocks(sentence)],
    stars_in_blocks: [blocks('*'), blocks(sentence)],
    half_links_in_blocks: [blocks('[a](https://'), blocks(sentence)],
    backticks_in_blocks: [blocks('`a'), blocks(sentence)],
  };
  for (const [name, [text, prose]] of Object.entries(inputs)) {
    const hostile: number[] = [];
    const plain: number[] = [];
    // Alternate, so both see the same machine state; the first pair warms the JIT up.
    for (let i = 0; i <= RUNS; i++) {
      const h = time(text);
      const p = time(prose);
      if (i > 0) {
        hostile.push(h);
        plain.push(p);
      }
    }
    emit({ part: 'markdown', metric: `render_${name}_ms`, ...medianOf(hostile), unit: 'ms', baseline: medianOf(plain).value, note: `${String(text.length)} characters; baseline: as much plain prose in the same blocks` });
  }
  await Promise.resolve();
}
