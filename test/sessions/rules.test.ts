/** Permission rules as Claude Code spells them, applied by agentq to requests that reach it. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerFor, fileBefore, ruleAllows, rulesAllow, suggestRule, withSuggestion } from '../../src/sessions/rules.js';
import { ValidationError } from '../../src/store/errors.js';
import type { Approval } from '../../src/store/session-contract.js';

describe('permission rules', () => {
  it.each([
    ['Write', 'Write', {}, true],
    ['Write', 'Edit', {}, false],
    ['Write(*)', 'Write', { file_path: '/x' }, true],
    ['Bash(npm test:*)', 'Bash', { command: 'npm test' }, true],
    ['Bash(npm test:*)', 'Bash', { command: 'npm test -- --run' }, true],
    ['Bash(npm test:*)', 'Bash', { command: 'npm testing' }, false],
    ['Bash(npm test:*)', 'Bash', { command: 'npm test && rm -rf /' }, false],
    ['Bash(npm test:*)', 'Bash', { command: 'npm test; curl x' }, false],
    ['Bash(npm test:*)', 'Bash', { command: 'npm test $(whoami)' }, false],
    ['Bash(npm test:*)', 'Bash', {}, false],
    ['Bash(git status)', 'Bash', { command: 'git status' }, true],
    ['Bash(git status)', 'Bash', { command: 'git status -s' }, false],
    ['WebFetch(domain:example.com)', 'WebFetch', { url: 'https://docs.example.com/a' }, true],
    ['WebFetch(domain:example.com)', 'WebFetch', { url: 'https://example.com.evil.io/' }, false],
    ['WebFetch(domain:example.com)', 'WebFetch', { url: 'not a url' }, false],
    ['Edit(/p/src/**)', 'Edit', { file_path: '/p/src/a/b.ts' }, true],
    ['Edit(/p/src/**)', 'Edit', { file_path: '/p/test/a.ts' }, false],
    ['Edit(/p/a.ts)', 'Edit', { file_path: '/p/a.ts' }, true],
    ['NotebookEdit(/n.ipynb)', 'NotebookEdit', { notebook_path: '/n.ipynb' }, true],
    ['Edit(/p/a.ts)', 'Edit', {}, false],
    ['(broken', 'Bash', {}, false],
  ] as [string, string, Record<string, unknown>, boolean][])('%s on %s %j: %s', (rule, tool, input, allowed) => {
    expect(ruleAllows(rule, tool, input)).toBe(allowed);
  });

  it('finds the first rule of a list that allows a use', () => {
    expect(rulesAllow(['Read', 'Bash(ls:*)'], 'Bash', { command: 'ls -la' })).toBe('Bash(ls:*)');
    expect(rulesAllow(undefined, 'Bash', { command: 'ls' })).toBeNull();
  });

  it('suggests a command\'s program and subcommand, else the tool', () => {
    expect(suggestRule('Bash', { command: 'npm test -- --run' })).toBe('Bash(npm test:*)');
    expect(suggestRule('Bash', { command: 'ls -la' })).toBe('Bash(ls:*)');
    expect(suggestRule('Bash', { command: 'touch a.txt' })).toBe('Bash(touch:*)');
    expect(suggestRule('Bash', { command: '  ' })).toBe('Bash');
    expect(suggestRule('Bash', { command: '$(evil) x' })).toBe('Bash');
    expect(suggestRule('Bash', {})).toBe('Bash');
    expect(suggestRule('Write', { file_path: '/x' })).toBe('Write');
  });

  it('turns a decision into the stored answer, refusing one that is neither allow nor deny', () => {
    const request = { id: 1, tool: 'Bash', input: { command: 'npm run build' } } as Approval;
    expect(answerFor(request, { decision: 'allow' })).toEqual({ status: 'allowed' });
    expect(answerFor(request, { decision: 'allow', scope: 'session' })).toEqual({ status: 'allowed', scope: 'session', rule: 'Bash(npm run:*)' });
    expect(answerFor(request, { decision: 'allow', scope: 'session', rule: 'Bash' })).toEqual({ status: 'allowed', scope: 'session', rule: 'Bash' });
    expect(answerFor(request, { decision: 'deny', message: '' })).toEqual({ status: 'denied' });
    expect(answerFor(request, { decision: 'deny', message: 'no' })).toEqual({ status: 'denied', message: 'no' });
    expect(() => answerFor(request, null as never)).toThrow(ValidationError);
    expect(() => answerFor(request, { decision: 'maybe' } as never)).toThrow(/decision: must be "allow" or "deny"/);
    expect(withSuggestion({ ...request, input: null })).toMatchObject({ suggestedRule: 'Bash' });
  });

  it('reads what a Write would replace: an existing file of at most 256 KB, nothing otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentq-rules-'));
    try {
      writeFileSync(join(dir, 'a.txt'), 'old\n');
      writeFileSync(join(dir, 'big.txt'), 'x'.repeat(256 * 1024 + 1));
      expect(fileBefore('Write', { file_path: join(dir, 'a.txt') })).toBe('old\n');
      expect(fileBefore('Write', { file_path: join(dir, 'new.txt') })).toBeNull();
      expect(fileBefore('Write', { file_path: join(dir, 'big.txt') })).toBeNull();
      expect(fileBefore('Write', { file_path: dir })).toBeNull();
      expect(fileBefore('Write', { file_path: 'a.txt' })).toBeNull();
      expect(fileBefore('Edit', { file_path: join(dir, 'a.txt') })).toBeNull();
      const request = { id: 1, tool: 'Write', input: { file_path: join(dir, 'a.txt') }, status: 'pending' } as Approval;
      expect(withSuggestion(request).fileBefore).toBe('old\n');
      // Once answered, the file may have changed: nothing is read.
      expect(withSuggestion({ ...request, status: 'allowed' }).fileBefore).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
