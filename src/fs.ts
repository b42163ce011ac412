// Reads a migrations folder from disk into checked Migration values; writes new revision files.
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { discoverMigrations, type DirEntry } from './core/discover.js';
import { DbvcError } from './core/errors.js';
import { parseFile, type SqlFile } from './core/parse.js';
import type { Migration } from './core/plan.js';

/**
 * Lists and parses every migration in `dir` (shown to people as `label`).
 * Throws one 'file' DbvcError listing every malformed file, before anything touches a database.
 */
export async function loadMigrations(dir: string, label: string): Promise<Migration[]> {
  const { migrations, problems } = await readMigrations(dir, label);
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    throw new DbvcError('file', `${problems.length} problems with the migration files in ${label}`, {
      lines: problems.flatMap((p) => [p.message, ...(p.hint ? [`  fix: ${p.hint}`] : [])]),
      hint: 'fix them; nothing was run',
    });
  }
  return migrations;
}

/**
 * Every migration that could be read, and a problem per file that could not (sorted): what the read-only commands
 * show, where loadMigrations refuses. An unreadable up file leaves its migration out; an unreadable down, its down.
 */
export async function readMigrations(dir: string, label: string): Promise<{ migrations: Migration[]; problems: DbvcError[] }> {
  const entries = await listEntries(dir, label);
  const { pairs, problems } = discoverMigrations(entries, label);
  const migrations: Migration[] = [];
  for (const [index, pair] of pairs.entries()) {
    // a turn of the event loop now and then lets a session opened meanwhile go on (session.ts, Overlap)
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
    const up = await readSqlFile(dir, label, pair.up, problems, false);
    const down = pair.down ? await readSqlFile(dir, label, pair.down, problems, true) : undefined;
    if (up) migrations.push({ version: pair.version, number: pair.number, name: pair.name, stem: pair.stem, up, down });
  }
  problems.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
  return { migrations, problems };
}

const YIELD_EVERY = 25; // migrations

/** The migrations' names only (nothing is read or parsed): enough to number a new revision. */
export async function listMigrationNames(dir: string, label: string): Promise<{ number: bigint }[]> {
  const { pairs, problems } = discoverMigrations(await listEntries(dir, label), label);
  if (problems.length > 0) throw problems[0];
  return pairs;
}

// Synchronous reads on purpose: a CLI reading a thousand small files one await at a time spends most of its
// time idle between them (bench: status at N=1000 went from ~0.8 s to ~0.2 s).
async function listEntries(dir: string, label: string): Promise<DirEntry[]> {
  let dirents: Dirent[];
  try {
    dirents = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code})`;
    throw new DbvcError('config', `the migrations folder ${label} ${what}`, {
      hint: 'create it (dbvc revision NAME writes the first migration), or point at another one with --dir or --db',
    });
  }
  return dirents.map((d) => ({ name: d.name, kind: kindOf(d, dir) }));
}

function kindOf(dirent: Dirent, dir: string): DirEntry['kind'] {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  if (!dirent.isSymbolicLink()) return 'other';
  try {
    const info = statSync(inFolder(dir, dirent.name));
    return info.isFile() ? 'file' : info.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'other'; // a broken link or a symlink loop
  }
}

/** dir/name for a name readdir gave: path.join normalises every path, a cost that shows over thousands of files. */
function inFolder(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

async function readSqlFile(dir: string, label: string, name: string, problems: DbvcError[], isDown: boolean): Promise<SqlFile | undefined> {
  const path = `${label}/${name}`;
  let content: string | Buffer;
  try {
    // Node decodes UTF-8 natively; only a file holding U+FFFD (invalid bytes, or the character itself) is
    // read again as bytes, for parseFile's strict decoder to tell which.
    const file = inFolder(dir, name);
    content = readFileSync(file, 'utf8');
    if (content.includes('\uFFFD')) content = readFileSync(file);
  } catch (error) {
    problems.push(new DbvcError('file', `${path} cannot be read (${(error as NodeJS.ErrnoException).code})`, { file: path }));
    return undefined;
  }
  const parsed = parseFile(path, content, isDown); // an empty down file is a deliberate no-op, an empty up an error
  problems.push(...parsed.problems);
  return parsed.file;
}

/** Creates a file that must not exist yet; never overwrites. */
export async function writeNewFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { flag: 'wx' });
}

/** Writes a whole file or nothing: a temporary file beside it, then a rename. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, text);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes files into `dir`, which must be absent or empty, so a folder never mixes two renders.
 * The files are written into a temporary folder beside it first, so a failure leaves nothing behind.
 */
export async function writeFolderAtomically(dir: string, files: { name: string; text: string }[], label: string): Promise<void> {
  const existing = await readdir(dir).catch(() => undefined);
  if (existing && existing.length > 0) {
    throw new DbvcError('usage', `${label} is not empty`, { hint: 'write into a new or empty folder, so scripts from two renders never mix' });
  }
  await mkdir(dirname(dir), { recursive: true });
  const temporary = await mkdtemp(join(dirname(dir), `.${basename(dir)}.`));
  try {
    for (const file of files) await writeFile(join(temporary, file.name), file.text);
    if (existing) await rm(dir, { recursive: true });
    await rename(temporary, dir);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

/** The text of a file, or of standard input for "-"; a missing file is a 'usage' DbvcError naming it. */
export async function readInput(path: string, root: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(resolve(root, path), 'utf8');
  } catch (error) {
    throw new DbvcError('usage', `${path} cannot be read (${(error as NodeJS.ErrnoException).code})`, { hint: 'give the file that alembic ... --sql wrote, or - for standard input' });
  }
}
