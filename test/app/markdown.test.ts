/**
 * The dashboard's Markdown renderer, rendered on the server as a page would be: what it makes of
 * ordinary text, and that hostile text costs time in proportion to its length, with a cap per block.
 * (Its speed is measured by `npm run bench -- markdown`; the bound here only catches a return to
 * backtracking, which took 24 s on 200,000 `[`.)
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { INLINE_LIMIT, Markdown, SPAN_LIMIT } from '../../app/lib/markdown.js';

const html = (text: string): string => renderToStaticMarkup(createElement(Markdown, { text }));

describe('the Markdown renderer', () => {
  it('renders code, bold, italics and http(s) links; leaves the rest as text, and never markup', () => {
    expect(html('a `x*y` **bold** *it* [docs](https://example.com/a_b) b')).toBe(
      '<div class="md"><p>a <code>x*y</code> <strong>bold</strong> <em>it</em> <a href="https://example.com/a_b" rel="noreferrer noopener" target="_blank">docs</a> b</p></div>',
    );
    for (const text of ['[x](javascript:alert(1))', '* not em*', '``', '[](http://x)', '[a] (http://x)', '[a](http://x y)']) {
      expect(html(text), text).not.toMatch(/<(a|em|strong|code)\b/);
    }
    expect(html('**a*')).toBe('<div class="md"><p>*<em>a</em></p></div>');
    expect(html('*a**b*')).toContain('<em>a</em>');
    expect(html('<img src=x onerror=alert(1)>')).toContain('&lt;img');
    expect(html('# Title\n\n- one\n- *two*\n\n```\ncode *x*\n```')).toBe(
      '<div class="md"><p><strong>Title</strong></p><ul><li>one</li><li><em>two</em></li></ul><pre><code>code *x*</code></pre></div>',
    );
  });

  it('shows a block over the cap as plain text, and the rest of a block past the span limit', () => {
    const long = `**bold** ${'x'.repeat(INLINE_LIMIT)}`;
    expect(html(long)).not.toContain('<strong>');
    expect(html(long)).toContain('**bold**');
    const many = '*a* '.repeat(SPAN_LIMIT + 5);
    expect(html(many).match(/<em>/g)).toHaveLength(SPAN_LIMIT);
    expect(html(many)).toContain('*a* *a*');
  });

  it('renders 200,000 characters of [, *, ` or half-made links in time proportional to their length', () => {
    const blocks = (unit: string): string => Array.from({ length: 10 }, () => unit.repeat(Math.floor(19_000 / unit.length))).join('\n\n');
    for (const text of ['['.repeat(200_000), '*'.repeat(200_000), blocks('['), blocks('*'), blocks('[a'), blocks('[a](https://'), blocks('`a'), blocks('**a')]) {
      const started = performance.now();
      const out = html(text);
      // Quadratic work on these took seconds to minutes; linear work takes milliseconds.
      expect(performance.now() - started, text.slice(0, 12)).toBeLessThan(1_500);
      expect(out.length).toBeGreaterThan(text.length / 2);
    }
  });
});
