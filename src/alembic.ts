// dbvc import-alembic: Alembic's offline scripts -> new SQL pairs in the migrations folder, all of them or none.
import { lstat, mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config.js';
import { readAlembicScripts, renderAlembicFiles, type ImportedFile } from './core/alembic.js';
import { DbvcError } from './core/errors.js';
import { listMigrationNames, writeNewFile } from './fs.js';

const UP_FILE = /^\d+_[A-Za-z0-9_]+\.up\.sql$/;
const ALEMBIC_DIRECTIVE = /^--\s*dbvc:alembic-revision\s+(\w{1,32})\s*$/;

/**
 * Converts the text of `alembic upgrade base:head --sql` (and, optionally, `alembic downgrade head:base --sql`)
 * into NNNN_slug.up.sql / .down.sql files, numbered from one above the folder's highest version, in chain order.
 * Writes every file or none and never overwrites; creates the folder when it is missing. Returns the paths
 * written (as shown to people) and warnings for the caller to print (a revision written without a down file,
 * SQL left out). Throws a 'file' or 'usage' DbvcError before writing anything for a script that is not Alembic's,
 * a branched history, a revision imported before, or a file name already taken.
 */
export async function importAlembic(config: Config, options: { upgradeScript: string; downgradeScript?: string }): Promise<{ written: string[]; warnings: string[] }> {
  const history = readAlembicScripts(options.upgradeScript, options.downgradeScript);
  const dir = config.migrationsDir;
  const label = config.migrationsLabel;
  const isNew = !(await pathExists(dir));
  const numbers = isNew ? [] : (await listMigrationNames(dir, label)).map((m) => m.number);
  const imported = isNew ? new Map<string, string>() : await readImportedRevisions(dir, label);
  const { files, warnings } = renderAlembicFiles(history.revisions, { numbers, imported });
  if (isNew) await mkdir(dir, { recursive: true });
  try {
    await writeFilesOrNone(dir, label, files);
  } catch (error) {
    if (isNew) await rmdir(dir).catch(() => {});
    throw error;
  }
  return { written: files.map((f) => `${label}/${f.name}`), warnings: [...history.warnings, ...warnings] };
}

/**
 * Creates every file in `dir` or none: refuses when any name is taken, and removes what it wrote when a write
 * fails part-way. Throws a 'usage' DbvcError for a taken name and a 'file' DbvcError for a failed write.
 */
export async function writeFilesOrNone(dir: string, label: string, files: ImportedFile[]): Promise<void> {
  const taken: string[] = [];
  for (const file of files) if (await pathExists(join(dir, file.name))) taken.push(`${label}/${file.name}`);
  if (taken.length > 0) {
    throw new DbvcError('usage', `${taken.length === 1 ? 'a file to write already exists' : `${taken.length} files to write already exist`}: ${taken.join(', ')}`, {
      hint: 'nothing was written; move them away or import into another folder (--dir)',
    });
  }
  const written: string[] = [];
  for (const file of files) {
    const path = join(dir, file.name);
    try {
      await writeNewFile(path, file.text);
    } catch (error) {
      for (const done of written) await rm(done, { force: true });
      throw new DbvcError('file', `could not write ${label}/${file.name} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
        file: `${label}/${file.name}`, cause: error, hint: 'nothing was kept: the files written before it were removed; fix the folder and import again',
      });
    }
    written.push(path);
  }
}

/** Alembic revisions the folder's up files already declare with -- dbvc:alembic-revision, and which file does. */
async function readImportedRevisions(dir: string, label: string): Promise<Map<string, string>> {
  const imported = new Map<string, string>();
  for (const name of (await readdir(dir)).filter((n) => UP_FILE.test(n)).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    for (const line of text.replace(/^\uFEFF/, '').split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '') continue;
      if (!trimmed.startsWith('--')) break;
      const match = ALEMBIC_DIRECTIVE.exec(trimmed);
      if (match) imported.set(match[1], `${label}/${name}`);
    }
  }
  return imported;
}

async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}
