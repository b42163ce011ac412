// --since-git REF: which migrations a branch added or changed since a commit, read from git.
import { execFile } from 'node:child_process';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { DbvcError } from '../core/errors.js';
import type { Migration } from '../core/plan.js';

const run = promisify(execFile);

/**
 * The range (as `FROM:TO`) from just before the first migration whose up or down file differs from REF (in the
 * working tree, untracked files included) to the last such migration; undefined when none does.
 */
export async function rangeSinceGit(dir: string, ref: string, migrations: Migration[]): Promise<string | undefined> {
  const changed = new Set([
    ...await listFiles(dir, ['diff', '--name-only', '--relative', ref, '--', '.'], ref),
    ...await listFiles(dir, ['ls-files', '--others', '--exclude-standard', '--', '.'], ref),
  ].map((path) => basename(path)));
  const touched = migrations.map((m, i) => (isTouched(m, changed) ? i : -1)).filter((i) => i >= 0);
  if (touched.length === 0) return undefined;
  const from = touched[0] === 0 ? 'base' : migrations[touched[0] - 1].version;
  return `${from}:${migrations[touched[touched.length - 1]].version}`;
}

function isTouched(m: Migration, changed: Set<string>): boolean {
  return changed.has(basename(m.up.path)) || (m.down !== undefined && changed.has(basename(m.down.path)));
}

async function listFiles(dir: string, args: string[], ref: string): Promise<string[]> {
  try {
    const { stdout } = await run('git', args, { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\n').filter(Boolean);
  } catch (error) {
    const said = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0];
    throw new DbvcError('usage', `--since-git ${ref}: git could not list the changed migrations: ${said}`, {
      hint: 'run dbvc inside a git checkout and name a commit git knows (a branch, a tag, a hash; fetch it first in CI)',
      cause: error,
    });
  }
}

/** HEAD's commit when the project is a git checkout, else null (the report then says nothing of git). */
export async function readGitCommit(root: string): Promise<string | null> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd: root });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}
