import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProjectRoots } from '../../src/sessions/project-roots.js';
import { ValidationError } from '../../src/store/errors.js';
import { tempDir } from '../helpers/temp.js';

const home = process.env.HOME;
afterEach(() => { process.env.HOME = home; });

describe('project roots', () => {
  it('allows a folder inside a root (links resolved), refuses one outside, and names the roots', () => {
    const tmp = tempDir();
    try {
      const root = join(tmp.dir, 'src');
      mkdirSync(join(root, 'app'), { recursive: true });
      mkdirSync(join(tmp.dir, 'srcx'));
      symlinkSync(join(tmp.dir, 'srcx'), join(root, 'out'));
      const roots = new ProjectRoots([root]);
      expect(roots.refusal(join(root, 'app'))).toBeNull();
      expect(roots.refusal(root)).toBeNull();
      // A sibling whose name starts like the root is not inside it; nor is a link out of it.
      for (const path of [join(tmp.dir, 'srcx'), join(root, 'out')]) expect(roots.refusal(path), path).toMatch(/outside the folders .*src\)/);
      expect(roots.refusal(join(tmp.dir, 'gone'))).toMatch(/gone does not exist/);
      expect(() => new ProjectRoots(['relative/path'])).toThrow(ValidationError);
      expect(() => new ProjectRoots([join(tmp.dir, 'missing')])).toThrow(/missing does not exist/);
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses / and the home folder unless listed, also when the home folder does not exist', () => {
    const tmp = tempDir();
    try {
      process.env.HOME = tmp.dir;
      expect(new ProjectRoots().refusal(tmp.dir)).toMatch(/your home folder/);
      expect(new ProjectRoots().refusal('/')).toMatch(/root of the file system/);
      expect(new ProjectRoots([tmp.dir]).refusal(tmp.dir)).toBeNull();
      expect(new ProjectRoots(['/']).refusal('/')).toBeNull();
      // Listing / does not list the home folder.
      expect(new ProjectRoots(['/']).refusal(tmp.dir)).toMatch(/your home folder/);
      process.env.HOME = join(tmp.dir, 'no-such-home');
      expect(new ProjectRoots().refusal(tmp.dir)).toBeNull();
    } finally {
      tmp.cleanup();
    }
  });
});
