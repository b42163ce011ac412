// Every bookkeeping query: alembic_version, dbvc_history and the migration lock. The SQL of an online step's
// transaction, bookkeeping included, is rendered with the offline script's by core/render.ts.
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Sql, TransactionSql } from 'postgres';
import { DbvcError } from './core/errors.js';
import { ledgerDdl, quoteIdent } from './core/ledger.js';
import type { DatabaseState, Failure, Recorded } from './core/plan.js';
import { literal } from './core/render.js';

export type Db = Sql<Record<string, never>>;
export type Tx = TransactionSql<Record<string, never>>;
type Queryable = Db | Tx;

export type HistoryEvent = 'up' | 'down' | 'stamp' | 'repair' | 'failed' | 'adopted';

export interface HistoryEntry {
  runId: string;
  event: HistoryEvent;
  version: string | null;
  name: string | null;
  fromVersion: string | null;
  toVersion: string | null;
  upChecksum: string | null;
  downChecksum: string | null;
  upSql: string | null;
  downSql: string | null;
  clientHost: string;
  durationMs: number | null;
  dbvcVersion: string;
  note: string | null;
  failedStatement?: number | null;
}

/** A history row as `history` reads it: the SQL texts stay in the table (dbvc show prints them). */
export interface HistoryRow extends Omit<HistoryEntry, 'upSql' | 'downSql'> {
  upSql?: string | null; // only when one version's history is read (readHistory with a version)
  downSql?: string | null;
  id: string;
  appliedAt: Date;
  appliedBy: string;
}

const LOCK_CLASS = 0x64627663; // "dbvc"
const LOCK_POLL_MS = 200;

/** Creates the schema (unless it exists), alembic_version exactly as Alembic does, and dbvc_history. Idempotent. */
export async function ensureTables(db: Db, schema: string): Promise<void> {
  await db.begin((tx) => createTables(tx, schema));
}

async function createTables(db: Tx, schema: string): Promise<void> {
  await db`set local client_min_messages = warning`; // no "already exists, skipping" notices from our own DDL
  const [{ exists }] = await db`select to_regnamespace(${quoteIdent(schema)}) is not null as exists`;
  await db.unsafe(ledgerDdl(schema, !exists));
}

/** Sends one string and cancels it on the server when the signal fires. */
export async function runCancellable(db: Queryable, sql: string, signal?: AbortSignal): Promise<void> {
  const query = db.unsafe(sql);
  const cancel = () => query.cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    if (signal?.aborted) throw new Error('interrupted'); // it fired before the listener was added
    await query;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}

/** Whether the ledger's tables exist in a schema. */
export interface LedgerTables {
  hasVersionTable: boolean;
  hasHistoryTable: boolean;
}

/**
 * The select-list items telling LedgerTables (has_version_table, has_history_table), for a query without bound
 * values: openConnection asks them with its first query, so that reading the state takes one round trip. A bound
 * value would cost one more, which postgres.js spends describing a statement before it sends the values.
 */
export function probeLedger(schema: string): string {
  const table = (name: string) => literal(`${quoteIdent(schema)}.${name}`);
  return `to_regclass(${table('alembic_version')}) is not null as has_version_table, to_regclass(${table('dbvc_history')}) is not null as has_history_table`;
}

/**
 * Reads alembic_version and, per version still applied, the latest history row that recorded it so. The recorded down
 * SQL (a downgrade's fallback when the file is gone) is fetched only `withDownSql`. Never writes. `known` is what
 * the connection saw of the tables (Connection.ledger): tables that existed then are read without asking again (one
 * round trip, its queries pipelined); otherwise they are looked for first, since a concurrent run may have made them.
 */
export async function readState(db: Queryable, schema: string, withDownSql = false, known?: LedgerTables): Promise<DatabaseState & { hasTables: boolean }> {
  const tables = known?.hasVersionTable && known.hasHistoryTable ? known : await findLedgerTables(db, schema);
  const [versionRows, historyRows, failures] = await Promise.all([
    tables.hasVersionTable ? db`select version_num from ${schemaName(db, schema)}.alembic_version order by version_num` : [],
    tables.hasHistoryTable ? readLatestMoves(db, schema, withDownSql) : [],
    tables.hasHistoryTable ? readFailures(db, schema) : [],
  ]);
  const versions = versionRows.map((r) => r.version_num as string);
  const recorded = new Map<string, Recorded>();
  const isMovedByDbvc = historyRows.length > 0 && historyRows[0].moved === true; // without such rows dbvc has moved nothing
  for (const row of historyRows) {
    if (row.event === 'down' || row.up_checksum === null) continue;
    recorded.set(row.version_num, { version: row.version_num, event: row.event, upChecksum: row.up_checksum, downChecksum: row.down_checksum, downSql: row.down_sql, hasDownSql: row.has_down_sql, appliedAt: row.applied_at, appliedBy: row.applied_by, name: row.name });
  }
  return { versions, recorded, failures, isMovedByDbvc, hasTables: tables.hasVersionTable && tables.hasHistoryTable };
}

async function findLedgerTables(db: Queryable, schema: string): Promise<LedgerTables> {
  const [row] = await db.unsafe(`select ${probeLedger(schema)}`);
  return { hasVersionTable: row.has_version_table === true, hasHistoryTable: row.has_history_table === true };
}

/**
 * The latest move per version: a version whose latest is a down (or a stamp down, which records no up checksum) is
 * not applied, even though an older row once applied it. `moved` is computed once (an InitPlan), not per row.
 */
function readLatestMoves(db: Queryable, schema: string, withDownSql: boolean) {
  return db`
    select distinct on (version_num) version_num, name, event, up_checksum, down_checksum, applied_at, applied_by,
           down_sql is not null as has_down_sql, ${withDownSql ? db`down_sql` : db`null::text as down_sql`},
           (select exists (select from ${schemaName(db, schema)}.dbvc_history where event <> 'adopted')) as moved
    from ${schemaName(db, schema)}.dbvc_history
    where event in ('up', 'down', 'stamp', 'repair', 'adopted')
    order by version_num, id desc`;
}

/** 'failed' rows after which some statements had run and nothing else happened to that version since. */
async function readFailures(db: Queryable, schema: string): Promise<Failure[]> {
  const rows = await db`
    select distinct on (f.version_num) f.version_num, f.from_version, f.to_version,
           (to_jsonb(f) ->> 'failed_statement')::integer as failed_statement,
           coalesce(f.up_sql, f.down_sql) as sql, f.up_sql is not null as is_up, f.note, f.applied_at
    from ${schemaName(db, schema)}.dbvc_history f
    where f.event = 'failed' and (to_jsonb(f) ->> 'failed_statement')::integer > 1
      and not exists (select 1 from ${schemaName(db, schema)}.dbvc_history r where r.version_num = f.version_num and r.id > f.id)
    order by f.version_num, f.id desc`;
  return rows.map((r) => ({
    version: r.version_num, direction: r.is_up ? 'up' : 'down', fromVersion: r.from_version, toVersion: r.to_version, failedStatement: r.failed_statement,
    sql: r.sql, note: r.note, at: r.applied_at,
  }));
}

/**
 * Moves alembic_version the way Alembic does online: INSERT from base, UPDATE from a revision, DELETE to base.
 * Throws a 'state' DbvcError when the row it expected to change is not there (someone else moved the database).
 */
export async function writeVersion(tx: Queryable, schema: string, from: string | null, to: string | null): Promise<void> {
  if (from === to) return;
  checkMoved((await moveVersion(tx, schema, from, to)).count, from, to);
}

/** The move as one statement returning a row when it changed alembic_version; from base only into an empty table. */
function moveVersion(db: Queryable, schema: string, from: string | null, to: string | null) {
  const table = db`${schemaName(db, schema)}.alembic_version`;
  if (from === null) return db`insert into ${table} (version_num) select ${to} where not exists (select from ${table}) returning 1`;
  if (to === null) return db`delete from ${table} where version_num = ${from} returning 1`;
  return db`update ${table} set version_num = ${to} where version_num = ${from} returning 1`;
}

/** Appends one row to dbvc_history; call it inside the transaction of the change it records. */
export async function recordEvent(tx: Queryable, schema: string, entry: HistoryEntry): Promise<void> {
  await tx`
    insert into ${schemaName(tx, schema)}.dbvc_history
      (run_id, event, version_num, name, from_version, to_version, up_checksum, down_checksum,
       up_sql, down_sql, client_host, duration_ms, dbvc_version, failed_statement, note)
    values
      (${entry.runId}, ${entry.event}, ${entry.version}, ${entry.name}, ${entry.fromVersion}, ${entry.toVersion},
       ${entry.upChecksum}, ${entry.downChecksum}, ${entry.upSql}, ${entry.downSql}, ${entry.clientHost},
       ${entry.durationMs}, ${entry.dbvcVersion}, ${entry.failedStatement ?? null}, ${entry.note})`;
}

/** Throws a 'state' DbvcError unless the move touched alembic_version's one row (someone else moved the database). */
export function checkMoved(count: number, from: string | null, to: string | null): void {
  if (count !== 1) throw notMovedError(from, to);
}

export function notMovedError(from: string | null, to: string | null): DbvcError {
  return new DbvcError('state', `alembic_version did not hold ${from ?? 'base'} when moving it to ${to ?? 'base'}: something else changed it`, {
    hint: 'run dbvc status to see where the database stands now',
  });
}

/**
 * The history, oldest first; of one version only when `version` is given, and then with the SQL texts (which the
 * whole history leaves out). Empty when the table does not exist.
 */
export async function readHistory(db: Queryable, schema: string, version?: string): Promise<HistoryRow[]> {
  const [{ exists }] = await db`select to_regclass(${quoteIdent(schema) + '.dbvc_history'}) is not null as exists`;
  if (!exists) return [];
  const withSql = version !== undefined;
  const rows = await db`
    select id::text, run_id, event, version_num, name, from_version, to_version, up_checksum, down_checksum,
           applied_at, applied_by, client_host, duration_ms, dbvc_version, note,
           case when ${withSql} then up_sql end as up_sql, case when ${withSql} then down_sql end as down_sql
    from ${schemaName(db, schema)}.dbvc_history h
    where ${version ?? null}::text is null or h.version_num = ${version ?? null}
    order by h.applied_at, h.id`; // h.id is the bigint; "id" alone would sort the text column above
  return rows.map((r) => ({
    id: r.id, runId: r.run_id, event: r.event, version: r.version_num, name: r.name, fromVersion: r.from_version,
    toVersion: r.to_version, upChecksum: r.up_checksum, downChecksum: r.down_checksum,
    ...(withSql ? { upSql: r.up_sql, downSql: r.down_sql } : {}),
    appliedAt: r.applied_at, appliedBy: r.applied_by, clientHost: r.client_host, durationMs: r.duration_ms,
    dbvcVersion: r.dbvc_version, note: r.note,
  }));
}

/** The up SQL as last recorded applied (up, stamp, repair, adopted), for each of `versions` that has one. */
export async function readRecordedTexts(db: Queryable, schema: string, versions: string[]): Promise<Map<string, string>> {
  if (versions.length === 0) return new Map();
  const [{ exists }] = await db`select to_regclass(${quoteIdent(schema) + '.dbvc_history'}) is not null as exists`;
  if (!exists) return new Map();
  const rows = await db`
    select distinct on (version_num) version_num, up_sql from ${schemaName(db, schema)}.dbvc_history
    where version_num in ${db(versions)} and event in ('up', 'stamp', 'repair', 'adopted') and up_sql is not null
    order by version_num, id desc`;
  return new Map(rows.map((r) => [r.version_num as string, r.up_sql as string]));
}

/**
 * The schema as a quoted identifier fragment. postgres.js's own sql(name) splits names at dots, so a schema
 * called "a.b" would become a.b (another database's schema) instead of one name.
 */
export function schemaName(db: Queryable, schema: string) {
  return db.unsafe(quoteIdent(schema));
}

function lockKey(schema: string): number {
  return createHash('sha256').update(`dbvc:${schema}`).digest().readInt32BE(0) & 0x7fffffff;
}

/**
 * Takes the session advisory lock for `schema`, polling pg_try_advisory_lock (a blocking pg_advisory_lock
 * would deadlock with CREATE INDEX CONCURRENTLY). Throws a 'lock' DbvcError naming the holder after timeoutMs,
 * or 'interrupted' when the signal fires first.
 */
export async function acquireLock(db: Db, schema: string, timeoutMs: number, signal?: AbortSignal, onWait?: (line: string) => void): Promise<void> {
  const key = lockKey(schema);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    if (await tryLock(db, schema)) return;
    if (signal?.aborted) throw new DbvcError('interrupted', 'interrupted while waiting for the migration lock; nothing was run');
    if (Date.now() >= deadline) throw await lockTimeoutError(db, key, schema, timeoutMs);
    if (attempt === 1 && onWait) onWait(await describeWait(db, key, timeoutMs)); // once: a log should not fill up
    await delay(Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now())), undefined, { signal }).catch(() => undefined); // an abort ends the wait
  }
}

/**
 * One attempt at the migration lock of `schema`; true when this session holds it now. The two keys are numbers dbvc
 * computes, written into the text so that the attempt is one round trip that later queries can follow in the same
 * pipeline (a bound value would cost one more: see probeLedger).
 */
export async function tryLock(db: Db, schema: string): Promise<boolean> {
  const [{ locked }] = await db.unsafe(`select pg_try_advisory_lock(${LOCK_CLASS}, ${lockKey(schema)}) as locked`);
  return locked === true;
}

async function readLockHolders(db: Db, key: number) {
  return db`
    select a.pid, a.application_name, a.usename, a.client_addr::text, a.backend_start, a.state
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted and l.classid = ${LOCK_CLASS}::bigint::oid
      and l.database = (select oid from pg_database where datname = current_database())
      and l.objid = ${key}::bigint::oid and l.objsubid = 2`;
}

async function describeWait(db: Db, key: number, timeoutMs: number): Promise<string> {
  const [holder] = await readLockHolders(db, key);
  const who = holder ? `pid ${holder.pid} (application "${holder.application_name || '?'}", connected since ${new Date(holder.backend_start).toISOString()})` : 'another session';
  return `waiting for the migration lock held by ${who}, up to ${timeoutMs / 1000} s`;
}

async function lockTimeoutError(db: Db, key: number, schema: string, timeoutMs: number): Promise<DbvcError> {
  const holders = await readLockHolders(db, key);
  const lines = holders.map((h) =>
    `held by pid ${h.pid} (application "${h.application_name || '?'}", user ${h.usename}, from ${h.client_addr ?? 'local socket'}, connected since ${new Date(h.backend_start).toISOString()}, ${h.state})`);
  return new DbvcError('lock', `another dbvc run holds the migration lock for schema "${schema}"; gave up after ${timeoutMs / 1000} s`, {
    lines,
    hint: 'wait for that run to finish and try again, or raise --lock-timeout; if that session is stuck, end it with select pg_terminate_backend(<pid>)',
  });
}

/** Releases the lock; the session ending releases it too, so this never throws. */
export async function releaseLock(db: Db, schema: string): Promise<void> {
  await db.unsafe(`select pg_advisory_unlock(${LOCK_CLASS}, ${lockKey(schema)})`).catch(() => undefined); // as tryLock
}

/** Sets lock_timeout for the transaction (`local`) or the session. */
export async function setLockTimeout(db: Queryable, ms: number, local: boolean): Promise<void> {
  await db`select set_config('lock_timeout', ${`${Math.round(ms)}ms`}, ${local})`;
}

export interface LockHolder {
  pid: number;
  application: string;
  state: string;
  since: Date;
  relations: string[];
}

/** Other sessions of this database holding relation locks in an open transaction, oldest first. */
export async function findLockHolders(db: Db): Promise<LockHolder[]> {
  const rows = await db`
    select a.pid, a.application_name, a.state, a.xact_start,
           json_agg(distinct l.relation::regclass::text) as relations -- json: the connection does not fetch array types
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'relation' and l.granted and a.pid <> pg_backend_pid() and a.xact_start is not null
      and l.database = (select oid from pg_database where datname = current_database())
    group by a.pid, a.application_name, a.state, a.xact_start
    order by a.xact_start limit 5`;
  return rows.map((r) => ({ pid: r.pid, application: r.application_name, state: r.state, since: r.xact_start, relations: r.relations }));
}
