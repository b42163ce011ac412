// The project folder: found by walking up as git finds its own, the targets it holds, and creating a new target.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DbvcError } from './core/errors.js';

/** The nearest folder at or above `start` holding envs/ or sql/; undefined when there is none up to /. */
export function findProjectRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (isDirectory(join(dir, 'envs')) || isDirectory(join(dir, 'sql'))) return dir;
    if (dir === dirname(dir)) return undefined;
  }
}

/** Target names the project knows: folders in sql/, and envs/NAME.env or envs/NAME.env.example files; sorted. */
export function listTargets(root: string): string[] {
  const names = new Set<string>();
  for (const entry of readFolder(join(root, 'sql'))) {
    if (entry.isDirectory() && !entry.name.startsWith('.')) names.add(entry.name);
  }
  for (const entry of readFolder(join(root, 'envs'))) {
    const match = /^([^.].*)\.env(?:\.example)?$/.exec(entry.name);
    if (match && entry.isFile()) names.add(match[1]);
  }
  return [...names].sort();
}

/**
 * dbvc init NAME: writes sql/NAME/ (with a .gitkeep, so git keeps the empty folder) and envs/NAME.env.example.
 * Throws a 'usage' DbvcError, writing nothing, when the target exists already.
 */
export async function createTarget(root: string, name: string): Promise<string[]> {
  const folder = join(root, 'sql', name);
  const example = join(root, 'envs', `${name}.env.example`);
  const existing = [folder, example, join(root, 'envs', `${name}.env`)].filter((path) => existsSync(path));
  if (existing.length > 0) {
    const shown = existing.map((path) => path.slice(root.length + 1)).join(' and ');
    throw new DbvcError('usage', `target "${name}" exists already: ${shown}`, { hint: `use it with --db ${name}, or pick another name` });
  }
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, '.gitkeep'), '');
  await mkdir(dirname(example), { recursive: true });
  await writeFile(example, [
    `# Copy to envs/${name}.env (git-ignored) and set the database URL of target ${name}.`,
    '# Percent-encode @ : / % # in the password, or quote the whole value.',
    'DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full',
    '',
  ].join('\n'));
  return [`sql/${name}/`, `envs/${name}.env.example`];
}

function readFolder(path: string) {
  try {
    return readdirSync(path, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
