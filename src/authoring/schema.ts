// The schema at head on the scratch server: made into schema.sql with migra, and proved by loading it back.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reporter } from '../api.js';
import type { Config } from '../config.js';
import { SCHEMA_FILE } from '../core/discover.js';
import { DbvcError } from '../core/errors.js';
import type { Migration } from '../core/plan.js';
import { assembleSchema } from '../core/schemafile.js';
import { compareSnapshots, type Snapshot } from '../core/snapshot.js';
import type { SchemaChange } from '../core/review.js';
import { openScratch, type ScratchDatabase, type ScratchServer } from '../review/scratch.js';
import { readSnapshot } from '../review/snapshot.js';
import { commentStatement, readComments } from './comments.js';
import { diffDatabases, preloadMigra } from './migra.js';
import { printViewsOn } from './viewdefs.js';

export interface ScratchUse {
  scratchUrl?: string; // --scratch-url; without it the embedded scratch server in <project>/.dbvc/scratch
  report: Reporter;
  env?: NodeJS.ProcessEnv;
}

/** The --db flag to repeat in a suggested command ("" for the default target). */
export function dbFlag(config: Config): string {
  return config.db === 'local' ? '' : ` --db ${config.db}`;
}

/** sql/<db>/schema.sql's text; a 'file' DbvcError (exit 2) naming `dbvc dump` when there is none. */
export async function readSchemaFile(config: Config, what: string): Promise<{ text: string; label: string }> {
  const label = `${config.migrationsLabel}/${SCHEMA_FILE}`;
  const text = await readFile(join(config.migrationsDir, SCHEMA_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    throw new DbvcError('file', `${label} does not exist, so there is nothing to ${what}`, { file: label, hint: `run dbvc dump${dbFlag(config)} to write it from the migrations, and commit it` });
  });
  return { text, label };
}

/** Runs `work` with the scratch server open, and closes it after, whatever happens. */
export async function withScratch<T>(config: Config, options: ScratchUse, work: (scratch: ScratchServer) => Promise<T>): Promise<T> {
  const scratch = await openScratch({ root: config.root, url: options.scratchUrl, env: options.env ?? {}, onNotice: () => {}, onInfo: options.report.info });
  try {
    options.report.info(`scratch: ${scratch.display}, PostgreSQL ${scratch.serverVersion}`);
    return await work({ ...scratch, prepare: (earlier) => scratch.prepare(earlier).catch((error) => { throw asMigrationFailure(error); }) });
  } finally {
    await scratch.close();
  }
}

// The template builder words its failures for review ("the revision before the review"); here a migration that
// fails from base is the problem itself.
function asMigrationFailure(error: unknown): unknown {
  const e = error as DbvcError & { cause?: { message?: string } };
  if (e?.name !== 'DbvcError' || e.code !== 'sql' || !e.file || !e.cause) return error;
  return new DbvcError('sql', `${e.file} failed on the scratch database, run from base: ${e.cause.message}`, {
    file: e.file, lines: e.lines, hint: 'fix that migration: upgrade would fail on it too (dbvc review FROM:TO rehearses a range)', cause: e.cause,
  });
}

/** A schema as check and dump compare it: the catalog snapshot plus the comments. */
export async function readSchema(db: ScratchDatabase, config: Config): Promise<Snapshot> {
  const snapshot = await readSnapshot(db.db, config.schema);
  return { objects: [...snapshot.objects, ...(await readComments(db.db))] };
}

/** The schema that `migrations` leave on an empty database, read on a scratch database (the review's templates). */
export async function readHeadSchema(scratch: ScratchServer, migrations: Migration[], config: Config): Promise<Snapshot> {
  const head = await scratch.prepare(migrations);
  try {
    return await readSchema(head, config);
  } finally {
    await head.drop();
  }
}

/**
 * The schema that `text` (schema.sql) makes on an empty scratch database. Throws a 'sql' DbvcError naming `label`
 * when the text fails to load.
 */
export async function loadSchema(scratch: ScratchServer, text: string, label: string, config: Config): Promise<Snapshot> {
  const empty = await loadEmpty(scratch, text, label);
  try {
    return await readSchema(empty, config);
  } finally {
    await empty.drop();
  }
}

/** A new scratch database holding what `text` makes on an empty one; the caller drops it. Throws as loadSchema. */
export async function loadEmpty(scratch: ScratchServer, text: string, label: string): Promise<ScratchDatabase> {
  const empty = await scratch.prepare([]);
  try {
    await empty.db.unsafe(text);
    return empty;
  } catch (error) {
    await empty.drop();
    const e = error as { message?: string; code?: string };
    throw new DbvcError('sql', `${label} does not load into an empty database: ${e.message}`, {
      file: label, lines: e.code ? [`SQLSTATE ${e.code}`] : [], hint: `fix it by hand, or run dbvc dump to write it again from the migrations`, cause: error,
    });
  }
}

/**
 * schema.sql for `migrations`: migra's DDL from an empty database to head, with dbvc's fills, verified by loading it
 * into another empty database and comparing with head. Throws an 'engine' DbvcError naming each difference (the
 * caller writes nothing then), or migra's own failure.
 */
export async function makeSchemaText(scratch: ScratchServer, migrations: Migration[], config: Config): Promise<string> {
  const preparing = scratch.prepare(migrations);
  setImmediate(preloadMigra); // compiled while the server makes the database
  const head = await preparing;
  try {
    const wanted = await readSchema(head, config);
    return await writeSchemaOf(scratch, scratch.urlOf(head.name), wanted, schemaHeader(config, migrations.length > 0 ? migrations[migrations.length - 1].version : null), config, "the migrations' head");
  } finally {
    await head.drop();
  }
}

export interface SchemaSource {
  leaveOut?: string[]; // tables of the database at `url` that the text must not create (migra's quoting)
}

/**
 * The DDL that makes the database at `url` (whose schema is `wanted`) on an empty one: migra's statements with dbvc's
 * fills behind `header`, proved by loading them into an empty scratch database and comparing snapshots. Throws an
 * 'engine' DbvcError naming each difference (`what` names the source), or migra's own failure; writes nothing.
 */
export async function writeSchemaOf(scratch: ScratchServer, url: string, wanted: Snapshot, header: string[], config: Config, what: string, source: SchemaSource = {}): Promise<string> {
  // from a real empty database rather than migra's notion of one, which lacks the public schema and plpgsql
  const preparing = scratch.prepare([]);
  setImmediate(preloadMigra);
  const empty = await preparing;
  let statements: string[];
  try {
    statements = await diffDatabases(scratch.urlOf(empty.name), url, { leaveOut: source.leaveOut });
  } finally {
    await empty.drop();
  }
  const leaked = statements.find((statement) => source.leaveOut?.some((table) => statement.includes(table)));
  if (leaked) throw new DbvcError('engine', `@pgkit/migra wrote a statement about dbvc's own tables: ${leaked.split('\n')[0]}`, { hint: NOT_WRITTEN });
  const comments = wanted.objects.filter((o) => o.kind === 'comment').map(commentStatement);
  const sequences = wanted.objects.filter((o) => o.kind === 'sequence');
  const text = assembleSchema(header, statements, { sequences, comments });
  const loaded = await loadEmpty(scratch, text, 'the schema migra wrote').catch((error: DbvcError) => {
    throw new DbvcError('engine', `${error.message} (a gap of @pgkit/migra that dbvc does not fill yet)`, { lines: error.lines, hint: NOT_WRITTEN, cause: error });
  });
  let differences: SchemaChange[];
  try {
    const made = await readSchema(loaded, config);
    differences = compareSnapshots(await printViewsOn(loaded.db, wanted, made), made); // the source may run another major
  } finally {
    await loaded.drop();
  }
  if (differences.length > 0) {
    throw new DbvcError('engine', `the schema migra wrote does not reproduce ${what}: ${differences.length} difference(s)`, {
      lines: differences.map(describeChange), hint: NOT_WRITTEN,
    });
  }
  return text;
}

const NOT_WRITTEN = 'nothing was written; README (Authoring) lists what migra does not reproduce yet: report any other difference, with the SQL that makes it';

/** The two comment lines atop schema.sql, for the migrations' `head` (a version, or null for none). */
export function schemaHeader(config: Config, head: string | null): string[] {
  return [
    `The schema that the migrations in ${config.migrationsLabel} produce at ${head ?? 'base'}: written by dbvc dump, not a migration.`,
    'Edit it to draft the next revision (dbvc revision NAME --autogenerate); dbvc check compares it with the migrations.',
  ];
}

/** "column public.product.sku: type integer -> bigint", one line per difference (head -> the other). */
export function describeChange(change: SchemaChange): string {
  return `${change.change} ${change.kind} ${change.name}${change.detail ? `: ${change.detail}` : ''}`;
}

