// dbvc baseline: the schema of a database no migration made, as the target's next up file (irreversible: no down),
// proved on a scratch database before it is written; --stamp records it on that database without running it.
import type { Reporter } from '../api.js';
import type { Config } from '../config.js';
import { DbvcError } from '../core/errors.js';
import { storedId, type Migration } from '../core/plan.js';
import { loadMigrations } from '../fs.js';
import type { ServerAddress } from '../url.js';
import { dbFlag, withScratch, writeSchemaOf, type ScratchUse } from './schema.js';
import { bookkeepingTables, isEmptySchema, readSourceSchema, type SourceSchema } from './source.js';

export interface BaselineOptions extends ScratchUse {
  stamp?: boolean; // also record the file as applied on that database (as dbvc stamp does), without running it
  signal?: AbortSignal;
}

export interface BaselineResult {
  file: string; // the up file written; there is no down file
  version: string;
  follows: string | null; // the target's head before it (null: the baseline is its first migration)
  replaced: string[]; // alembic_version rows that no file names (an Alembic revision): --stamp replaces them
  stamped: { from: string | null; to: string | null } | null; // what --stamp recorded
  notes: string[]; // what the numbering and the database's revision mean, one sentence each
}

/**
 * Reads the schema of the target database (read-only: catalogs and alembic_version, no lock) and writes the next up
 * file holding it, with no down file. The text comes from @pgkit/migra (an empty database to that one, dbvc's own two
 * tables left out) and is proved first: loaded into an empty scratch database, its snapshot must equal the source's;
 * any difference is an 'engine' DbvcError naming it, and nothing is written. Refuses ('state') a database at a
 * revision the target's files name, and an empty schema. With `stamp`, then runs dbvc stamp to the new revision,
 * replacing alembic_version rows no file names; a failure there leaves the file written and says so.
 */
export async function baseline(config: Config, name: string, options: BaselineOptions): Promise<BaselineResult> {
  const { revision, slugify, stamp } = await import('../api.js'); // api.ts re-exports this module
  if (slugify(name) === '') await revision(config, name); // throws its usage error before any work
  if (config.server.kind !== 'url') {
    throw new DbvcError('usage', `baseline reads a database named by a postgres:// URL, and target ${config.db} names the embedded server`, {
      hint: 'pass --url postgres://... of the database to baseline (or set DATABASE_URL in its env file)',
    });
  }
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  const source = await readSource(config, config.server, migrations, options.report);
  const follows = migrations.length > 0 ? migrations[migrations.length - 1].version : null;
  const header = [
    'It creates the whole schema, so it runs on an empty database only. A database that already has this schema (the one',
    'it was read from, or a copy) is recorded at this revision without running it: dbvc baseline --stamp, or dbvc stamp.',
  ];
  if (follows) header.push(`It follows ${follows}: run from base, the migrations before it run first, and this file then creates everything again.`);
  const text = await withScratch(config, options, (scratch) =>
    writeSchemaOf(scratch, source.url, source.schema, header, config, `the schema of ${config.db}`, { leaveOut: bookkeepingTables(config) }));
  const database = config.server.database;
  const how = `Written by dbvc baseline from database ${database} (DDL from @pgkit/migra). Irreversible by design: it has no down file.`;
  const written = await revision(config, name, { up: text, down: null, how });
  const notes = explainBaseline(config, migrations, written.version, source.replaced, Boolean(options.stamp));
  if (!options.stamp) return { file: written.up, version: written.version, follows, replaced: source.replaced, stamped: null, notes };
  const stamped = await stamp(config, written.version, source.replaced.length > 0, { report: options.report, signal: options.signal }).catch((error: unknown) => {
    const e = error as DbvcError;
    if (e?.name !== 'DbvcError') throw error;
    throw new DbvcError(e.code, `${written.up} was written, but recording it on ${config.db} failed: ${e.message}`, {
      lines: e.lines, hint: `once that is fixed, run dbvc stamp ${written.version}${dbFlag(config)}${source.replaced.length > 0 ? ' --purge' : ''} (the file stays as written)`, cause: error,
    });
  });
  return { file: written.up, version: written.version, follows, replaced: source.replaced, stamped, notes };
}

async function readSource(config: Config, address: ServerAddress, migrations: Migration[], report: Reporter): Promise<SourceSchema & { replaced: string[] }> {
  const { readState } = await import('../store.js');
  let replaced: string[] = [];
  const source = await readSourceSchema(config, address, `target ${config.db}`, report, async (db) => {
    const state = await readState(db, config.schema);
    const ids = new Set(migrations.flatMap((m) => [m.version, storedId(m)]));
    const known = state.versions.filter((v) => ids.has(v));
    if (known.length > 0) {
      throw new DbvcError('state', `${config.db} is at revision ${known.join(', ')} of ${config.migrationsLabel}: its schema comes from those migrations, so there is nothing to baseline`, {
        hint: `dbvc drift${dbFlag(config)} compares it with that revision; dbvc revision NAME --autogenerate drafts a further change`,
      });
    }
    replaced = state.versions;
  });
  if (isEmptySchema(source.schema)) {
    throw new DbvcError('state', `${config.db} has no tables, types or functions: there is no schema to baseline`, { hint: 'check --url: it should name the database built by hand' });
  }
  return { ...source, replaced };
}

function explainBaseline(config: Config, migrations: Migration[], version: string, replaced: string[], isStamped: boolean): string[] {
  const notes: string[] = [];
  if (migrations.length > 0) {
    const range = `${migrations[0].version}..${migrations[migrations.length - 1].version}`;
    notes.push(`${config.migrationsLabel} already held ${range}: ${version} comes after them and creates the whole schema again, so upgrading an empty database from base would fail on it; a baseline usually starts a folder of its own (dbvc init NAME), and if those migrations made ${config.db}, dbvc stamp ${migrations[migrations.length - 1].version} records that instead`);
  }
  if (replaced.length > 0) {
    const held = `alembic_version ${isStamped ? 'held' : 'holds'} ${replaced.join(', ')}, which no file in ${config.migrationsLabel} names (an Alembic revision?)`;
    notes.push(isStamped ? `${held}: replaced by ${version}` : `${held}: baseline --stamp, or dbvc stamp ${version} --purge, replaces it`);
  }
  return notes;
}
