// Runs one migration file on a scratch database as a real run would, statement by statement, and records what
// each statement did: the locks the session newly holds, the relations it rewrote, and its time.
import { performance } from 'node:perf_hooks';
import { setTimeout as pause } from 'node:timers/promises';
import { locateOffset } from '../core/errors.js';
import { lineOf, scanSql, type Statement } from '../core/lexer.js';
import { refusesTransaction } from '../core/parse.js';
import { LOCK_MODES } from '../core/findings.js';
import type { ReviewError, RunTrace, TracedStatement } from '../core/review.js';
import type { Db } from '../store.js';

export interface TraceInput {
  file: string; // as shown in errors
  text: string;
  noTransaction: boolean;
}

// Locks the session holds on user relations, and every user relation's relfilenode, in one round trip. Run
// inside the migration's own transaction: pg_locks shows this backend's locks, held until COMMIT.
const PROBE_SQL = `
select 'lock' as what, c.oid::int8 as oid, n.nspname || '.' || c.relname as name, l.mode as value
from pg_locks l join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.granted
  and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_%'
union all
select 'file', c.oid::int8, n.nspname || '.' || c.relname, c.relfilenode::text
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'i', 'm', 't', 'S') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_%'`;

interface Probe {
  locks: Set<string>; // `${oid} ${mode}`
  files: Map<string, string>; // oid -> relfilenode
  names: Map<string, string>; // oid -> schema.name
}

/**
 * Runs the file: a normal file in one transaction (committed when every statement ran), a no-transaction file
 * one statement at a time. Each statement is sent once, alone. Relations created by the file itself are left out
 * of locks and rewrites (nobody else can see them before COMMIT). Stops at the first failing statement, whose
 * error carries the file's own line and the SQLSTATE; a failed transactional file is rolled back.
 */
export async function traceFile(db: Db, input: TraceInput, observer?: Db): Promise<RunTrace> {
  const statements = scanSql(input.text).statements.filter((s) => s.words.length > 0);
  const traced: TracedStatement[] = [];
  const start = await probe(db);
  const existing = new Set(start.files.keys());
  if (!input.noTransaction) await db.unsafe('begin');
  let before = start;
  for (const statement of statements) {
    const sql = input.text.slice(statement.start, statement.end);
    const isBare = input.noTransaction && refusesTransaction(statement.words) !== undefined;
    const isWrapped = input.noTransaction && !isBare; // autocommit, made explicit so its locks can be read
    if (isWrapped) await db.unsafe('begin');
    const began = performance.now();
    let observed: Pick<Probe, 'locks' | 'names'> | undefined;
    try {
      if (isBare && observer) observed = await runObserved(db, sql, observer);
      else await db.unsafe(sql);
    } catch (error) {
      if (!isBare) await db.unsafe('rollback');
      return { ok: false, error: describeError(error, input, statement), statements: traced };
    }
    const ms = performance.now() - began;
    const after = await probe(db);
    if (isWrapped) await db.unsafe('commit');
    const held = observed ? { ...after, locks: observed.locks, names: new Map([...after.names, ...observed.names]) } : after;
    traced.push(traceStatement(input.text, statement, sql, ms, before, held, existing, isBare && !observed));
    before = isWrapped || isBare ? await probe(db) : after;
  }
  if (!input.noTransaction) await db.unsafe('commit');
  return { ok: true, error: null, statements: traced };
}

async function probe(db: Db): Promise<Probe> {
  const result: Probe = { locks: new Set(), files: new Map(), names: new Map() };
  for (const row of await db.unsafe(PROBE_SQL)) {
    const oid = String(row.oid);
    result.names.set(oid, row.name);
    if (row.what === 'lock') result.locks.add(`${oid} ${row.value}`);
    else result.files.set(oid, row.value);
  }
  return result;
}

function traceStatement(text: string, statement: Statement, sql: string, ms: number, before: Probe, after: Probe, existing: Set<string>, isUnobserved: boolean): TracedStatement {
  const locks: TracedStatement['locks'] = [];
  for (const key of after.locks) {
    const [oid, mode] = key.split(' ');
    if (!before.locks.has(key) && existing.has(oid)) locks.push({ relation: after.names.get(oid)!, mode });
  }
  locks.sort((a, b) => (a.relation === b.relation ? LOCK_MODES.indexOf(b.mode) - LOCK_MODES.indexOf(a.mode) : a.relation < b.relation ? -1 : 1));
  const rewrites: string[] = [];
  for (const [oid, node] of after.files) {
    const was = before.files.get(oid);
    if (existing.has(oid) && was !== undefined && was !== node && node !== '0') rewrites.push(after.names.get(oid)!);
  }
  const traced: TracedStatement = { line: lineOf(text, statement.first), sql: sql.slice(statement.first - statement.start).trim(), ms: round(ms), locks, rewrites: rewrites.sort() };
  if (isUnobserved) traced.locks_observed = false;
  return traced;
}

// The relation locks another backend holds, and whether it is waiting for one.
const OBSERVE_SQL = `
select c.oid::int8 as oid, n.nspname || '.' || c.relname as name, l.mode, l.granted
from pg_locks l left join pg_class c on c.oid = l.relation left join pg_namespace n on n.oid = c.relnamespace
where l.pid = $1 and (not l.granted or (l.locktype = 'relation' and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_%'))`;

/**
 * Runs a statement that refuses transaction blocks (CREATE INDEX CONCURRENTLY, ...), whose locks end with it, while
 * a second session holds a snapshot open: a concurrent index build waits for older snapshots, and while it waits
 * the observer reads the locks it holds, then lets it go. Returns them (`${oid} ${mode}`), or undefined when the
 * statement never waited (nothing could be read: the caller says so).
 */
async function runObserved(db: Db, sql: string, observer: Db): Promise<Pick<Probe, 'locks' | 'names'> | undefined> {
  const [{ pid }] = await db.unsafe('select pg_backend_pid() as pid');
  await observer.unsafe('begin isolation level repeatable read');
  let isOpen = true;
  try {
    // the snapshot makes concurrent index builds wait; a share lock on every table makes DROP INDEX CONCURRENTLY and
    // the like wait too (they wait for every locker of their table)
    const tables = await observer.unsafe(`select format('%I.%I', n.nspname, c.relname) as name from pg_class c
      join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p', 'm') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'`);
    if (tables.length > 0) await observer.unsafe(`lock table ${tables.map((t) => t.name).join(', ')} in access share mode`);
    let isDone = false;
    const running = db.unsafe(sql).finally(() => (isDone = true));
    running.catch(() => undefined);
    const seen: Pick<Probe, 'locks' | 'names'> = { locks: new Set(), names: new Map() };
    let hasWaited = false;
    while (!isDone && !hasWaited) {
      for (const row of await observer.unsafe(OBSERVE_SQL, [pid])) {
        if (!row.granted) hasWaited = true;
        if (row.oid === null) continue;
        seen.locks.add(`${row.oid} ${row.mode}`); // a lock it waits for, it will hold
        seen.names.set(String(row.oid), row.name);
      }
      if (!hasWaited) await pause(2); // a statement that never waits (VACUUM) is polled gently until it ends
    }
    await observer.unsafe('commit');
    isOpen = false;
    await running;
    return hasWaited ? seen : undefined;
  } finally {
    if (isOpen) await observer.unsafe('rollback');
  }
}


function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

interface PgError { code?: string; message?: string; position?: string; severity?: string }

function describeError(error: unknown, input: TraceInput, statement: Statement): ReviewError {
  const e = error as PgError;
  const isServerError = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity !== undefined;
  if (!isServerError) throw error; // the connection broke: not something the file did
  let line = lineOf(input.text, statement.first);
  if (e.position) {
    const sent = input.text.slice(statement.start, statement.end);
    line = lineOf(input.text, statement.start) + locateOffset(sent, Number(e.position)).line - 1;
  }
  return { file: input.file, line, sqlstate: e.code!, message: e.message ?? String(error) };
}
