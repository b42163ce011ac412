// dbvc dump and dbvc check: sql/<db>/schema.sql written from the migrations, and compared with them.
import { join } from 'node:path';
import type { Config } from '../config.js';
import { SCHEMA_FILE } from '../core/discover.js';
import type { Migration } from '../core/plan.js';
import type { SchemaChange } from '../core/review.js';
import { explainDifference } from '../core/schemafile.js';
import { compareSnapshots } from '../core/snapshot.js';
import { loadMigrations, writeFileAtomically } from '../fs.js';
import { dbFlag, loadSchema, makeSchemaText, readHeadSchema, readSchemaFile, withScratch, type ScratchUse } from './schema.js';

export interface DumpOptions extends ScratchUse {
  out?: string; // an absolute FILE, or '-' for none (the caller prints the text); default sql/<db>/schema.sql
}

export interface DumpResult {
  text: string;
  path: string | null; // where it was written; null for '-'
  head: string | null; // the revision it is the schema of
}

/**
 * Writes the schema at head as plain DDL, made on a scratch database and verified by loading it back into an empty
 * one. Writes nothing when migra fails or its DDL does not reproduce head (an 'engine' DbvcError naming each
 * difference); never touches a target database.
 */
export async function dump(config: Config, options: DumpOptions): Promise<DumpResult> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  const text = await withScratch(config, options, (scratch) => makeSchemaText(scratch, migrations, config));
  const path = options.out === '-' ? null : (options.out ?? join(config.migrationsDir, SCHEMA_FILE));
  if (path) await writeFileAtomically(path, text);
  return { text, path, head: headOf(migrations) };
}

export interface CheckDifference extends SchemaChange {
  message: string; // what differs, and the command that settles it
}

export interface CheckResult {
  head: string | null;
  differences: CheckDifference[]; // head -> schema.sql, in compareSnapshots' order
  exitCode: 0 | 3;
}

/**
 * Compares schema.sql with what the migrations produce: each loaded into its own scratch database, their catalog
 * snapshots (and comments) compared. Throws a 'file' DbvcError (exit 2) when there is no schema.sql, a 'sql' one
 * when it does not load. Needs no migra.
 */
export async function check(config: Config, options: ScratchUse): Promise<CheckResult> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  const { text, label } = await readSchemaFile(config, 'check');
  const db = dbFlag(config);
  const changes = await withScratch(config, options, async (scratch) => {
    // both at once; each drops its own database, so both settle before the scratch server closes
    const [head, file] = await Promise.allSettled([readHeadSchema(scratch, migrations, config), loadSchema(scratch, text, label, config)]);
    if (head.status === 'rejected') throw head.reason;
    if (file.status === 'rejected') throw file.reason;
    return compareSnapshots(head.value, file.value);
  });
  const differences = changes.map((change) => ({ ...change, message: explainDifference(change, db) }));
  return { head: headOf(migrations), differences, exitCode: differences.length > 0 ? 3 : 0 };
}

function headOf(migrations: Migration[]): string | null {
  return migrations.length > 0 ? migrations[migrations.length - 1].version : null;
}
