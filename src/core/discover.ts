// File names in a migrations folder -> ordered up/down pairs, and every malformed name as an error.
import { DbvcError } from './errors.js';

export interface DirEntry {
  name: string;
  kind: 'file' | 'dir' | 'other';
}

export interface MigrationPair {
  version: string; // as written in the file name: the id stored in alembic_version
  number: bigint;
  name: string;
  stem: string; // e.g. 0003_add_orders
  up: string; // file name
  down?: string;
}

export interface Discovery {
  pairs: MigrationPair[];
  problems: DbvcError[];
}

const VALID = /^(\d+)_([A-Za-z0-9_]+)\.(up|down)\.sql$/;
const MAX_VERSION_LENGTH = 32;
/** The schema at head (dbvc dump writes it beside the migrations); not a migration. */
export const SCHEMA_FILE = 'schema.sql';

interface NamedFile {
  version: string;
  name: string;
  direction: 'up' | 'down';
  file: string;
}

/** Pairs up and down files by version; anything that looks like a migration but is malformed is a problem. */
export function discoverMigrations(entries: DirEntry[], folder: string): Discovery {
  const problems: DbvcError[] = [];
  const named: NamedFile[] = [];
  for (const entry of [...entries].sort((a, b) => compareText(a.name, b.name))) {
    if (!looksLikeMigration(entry.name)) continue;
    const where = `${folder}/${entry.name}`;
    if (entry.kind !== 'file') {
      problems.push(fileProblem(where, `is a ${entry.kind === 'dir' ? 'directory' : 'special file or broken link'}, not a migration file`, 'move it out of the migrations folder'));
      continue;
    }
    const reason = explainMalformed(entry.name);
    if (reason) {
      problems.push(fileProblem(where, reason, 'rename it to NNNN_name.up.sql / NNNN_name.down.sql (letters, digits and _ in the name)'));
      continue;
    }
    const [, version, name, direction] = VALID.exec(entry.name)!;
    named.push({ version, name, direction: direction as 'up' | 'down', file: entry.name });
  }
  const pairs = pairFiles(named, folder, problems);
  pairs.sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
  return { pairs, problems };
}

function looksLikeMigration(name: string): boolean {
  if (name.startsWith('.') || name === SCHEMA_FILE) return false;
  return /^\d/.test(name) || /\.sql$/i.test(name);
}

function explainMalformed(name: string): string | undefined {
  const match = VALID.exec(name);
  if (match) {
    return match[1].length > MAX_VERSION_LENGTH
      ? `has a version of ${match[1].length} digits; alembic_version holds at most ${MAX_VERSION_LENGTH}`
      : undefined;
  }
  if (!/^\d/.test(name)) return 'does not start with a version number';
  if (/\.(up|down)\.sql$/i.test(name) && !/\.(up|down)\.sql$/.test(name)) return 'has an upper-case extension; use .up.sql or .down.sql';
  if (!/\.(up|down)\.sql$/.test(name)) return 'does not end in .up.sql or .down.sql';
  if (!/^\d+_/.test(name)) return 'needs a _ between the version and the name';
  return 'has a name with characters other than letters, digits and _';
}

function pairFiles(named: NamedFile[], folder: string, problems: DbvcError[]): MigrationPair[] {
  const byNumber = new Map<bigint, MigrationPair>();
  const ups = named.filter((f) => f.direction === 'up');
  const downs = named.filter((f) => f.direction === 'down');
  for (const f of ups) {
    const number = BigInt(f.version);
    const existing = byNumber.get(number);
    if (existing) {
      problems.push(fileProblem(`${folder}/${f.file}`, `has the same version number as ${existing.up}`, 'give one of them the next free number (dbvc revision picks it)'));
      continue;
    }
    byNumber.set(number, { version: f.version, number, name: f.name, stem: `${f.version}_${f.name}`, up: f.file });
  }
  for (const f of downs) {
    const pair = byNumber.get(BigInt(f.version));
    const where = `${folder}/${f.file}`;
    if (!pair) {
      problems.push(fileProblem(where, 'is a down file without an up file', `add ${f.version}_${f.name}.up.sql or remove it`));
    } else if (pair.down) {
      problems.push(fileProblem(where, `has the same version number as ${pair.down}`, 'keep one down file per version'));
    } else if (pair.version !== f.version || pair.name !== f.name) {
      problems.push(fileProblem(where, `does not match its up file ${pair.up}`, `rename it to ${pair.stem}.down.sql`));
    } else {
      pair.down = f.file;
    }
  }
  return [...byNumber.values()];
}

function fileProblem(file: string, what: string, hint: string): DbvcError {
  return new DbvcError('file', `${file} ${what}`, { file, hint });
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
