/**
 * Where agents may work. An agent in `/` or the home folder itself can read and change everything
 * the user owns (SSH keys, other projects, agentq's own token), so those are refused unless the
 * operator lists them; with `--project-root` set, only folders inside the listed roots are allowed.
 * Paths are compared after resolving symbolic links, so a link cannot lead out of a root.
 */
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, sep } from 'node:path';
import { ValidationError } from '../store/errors.js';

export class ProjectRoots {
  /** The roots, resolved; empty when any folder (but `/` and home) is allowed. */
  readonly roots: readonly string[];

  /** Throws ValidationError (field `projectRoots`) for a root that is not an existing absolute path. */
  constructor(roots: readonly string[] = []) {
    this.roots = roots.map((root) => {
      if (!isAbsolute(root)) throw new ValidationError('projectRoots', `${root} is not an absolute path; give the full path of a folder`);
      try {
        return realpathSync(root);
      } catch {
        throw new ValidationError('projectRoots', `${root} does not exist; create it or remove it from the project roots`);
      }
    });
  }

  /** Why an agent may not work in `path` (an existing folder), or null when it may. */
  refusal(path: string): string | null {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return `${path} does not exist; create it or pick another folder`;
    }
    if (this.roots.includes(real)) return null;
    let home: string | null = null;
    try {
      home = realpathSync(homedir());
    } catch {
      home = null;
    }
    if (real === sep || real === home) {
      return `${path} is ${real === sep ? 'the root of the file system' : 'your home folder'}: an agent there can read and change everything you own; pick the project's own folder (or start agentq with --project-root ${path} to allow it)`;
    }
    if (this.roots.length > 0 && !this.roots.some((root) => real.startsWith(root.endsWith(sep) ? root : root + sep))) {
      return `${path} is outside the folders this server lets agents work in (${this.roots.join(', ')}); pick a folder inside one (or start agentq with --project-root for it)`;
    }
    return null;
  }
}
