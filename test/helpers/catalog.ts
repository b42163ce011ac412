// A comparable snapshot of a database's schema and bookkeeping, and a way to run an offline script on it.
import { spawnSync } from 'node:child_process';
import { parseDatabaseUrl } from '../../src/config.js';
import type { Db } from '../../src/store.js';
import { findCommand } from './common.js';
import { ROOT } from './db.js';

/** Tables, columns, types, defaults, constraints, indexes, sequences, views, functions, triggers, enums. */
export async function snapshotSchema(db: Db, schema = 'public'): Promise<Record<string, unknown[]>> {
  const rows = async (query: PromiseLike<readonly unknown[]>) => (await query).map((r) => ({ ...(r as object) }));
  return {
    columns: await rows(db`
      select table_name, column_name, data_type, udt_name, is_nullable, column_default, character_maximum_length,
             numeric_precision, numeric_scale, is_identity, identity_generation
      from information_schema.columns where table_schema = ${schema} order by table_name, ordinal_position`),
    constraints: await rows(db`
      select conrelid::regclass::text as on_table, conname, pg_get_constraintdef(oid) as definition
      from pg_constraint where connamespace = ${schema}::regnamespace order by 1, 2`),
    indexes: await rows(db`select indexname, indexdef from pg_indexes where schemaname = ${schema} order by 1`),
    sequences: await rows(db`
      select sequencename, data_type, start_value::text, increment_by::text from pg_sequences where schemaname = ${schema} order by 1`),
    views: await rows(db`select viewname, definition from pg_views where schemaname = ${schema} order by 1`),
    functions: await rows(db`
      select proname, pg_get_functiondef(oid) as definition from pg_proc
      where pronamespace = ${schema}::regnamespace and prokind in ('f', 'p') order by 1, 2`),
    triggers: await rows(db`
      select tgname, pg_get_triggerdef(t.oid) as definition from pg_trigger t
      join pg_class c on c.oid = t.tgrelid where not t.tgisinternal and c.relnamespace = ${schema}::regnamespace order by 1`),
    enums: await rows(db`
      select t.typname, array_agg(e.enumlabel order by e.enumsortorder) as labels
      from pg_type t join pg_enum e on e.enumtypid = t.oid where t.typnamespace = ${schema}::regnamespace group by 1 order by 1`),
    domains: await rows(db`
      select domain_name, data_type from information_schema.domains where domain_schema = ${schema} order by 1`),
    comments: await rows(db`
      select c.relname, d.description from pg_description d join pg_class c on c.oid = d.objoid
      where c.relnamespace = ${schema}::regnamespace order by 1`),
  };
}

/** alembic_version and the history rows, without what legitimately differs (time, duration, host, run id). */
export async function snapshotLedger(db: Db): Promise<{ versions: string[]; history: unknown[] }> {
  const versions = (await db`select version_num from alembic_version order by 1`).map((r) => r.version_num as string);
  const history = (await db`
    select event, version_num, name, from_version, to_version, up_checksum, down_checksum, up_sql, down_sql,
           applied_by, dbvc_version, note
    from dbvc_history order by id`).map((r) => ({ ...r }));
  return { versions, history };
}

export interface ScriptResult {
  code: number;
  stderr: string;
  via: 'psql' | 'driver';
}

/** psql from PATH, or null when this machine has none (the tests then say they used the driver). */
export function findPsql(): string | null {
  return findCommand('psql');
}

/** Runs a script as a DBA would: psql -v ON_ERROR_STOP=1 -X -f; through the driver when psql is absent. */
export async function runScript(url: string, script: string, db: Db): Promise<ScriptResult> {
  const psql = findPsql();
  if (!psql) {
    try {
      await db.unsafe(script);
      return { code: 0, stderr: '', via: 'driver' };
    } catch (error) {
      return { code: 3, stderr: (error as Error).message, via: 'driver' };
    }
  }
  const server = parseDatabaseUrl(url, 'test', {}, ROOT);
  if (server.kind !== 'url') throw new Error('not a url');
  const env = {
    ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.username,
    PGDATABASE: server.database, PGPASSWORD: server.password ?? '', PGCLIENTENCODING: 'UTF8',
  };
  const result = spawnSync(psql, ['-v', 'ON_ERROR_STOP=1', '-X', '-q', '-f', '-'], { input: script, env, encoding: 'utf8' });
  return { code: result.status ?? 1, stderr: result.stderr, via: 'psql' };
}
