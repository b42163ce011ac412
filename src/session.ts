// One connection per command: open it (waiting for a starting server with --wait), say which target and server it
// acts on, refuse a read-only server before moving anything, hold the migration lock if asked, and always close it.
import { setTimeout } from 'node:timers/promises';
import type { Config } from './config.js';
import type { Connection } from './connect.js';
import { DbvcError } from './core/errors.js';
import type { NoticeRoute } from './runner.js';
import { acquireLock, releaseLock, tryLock, type Db } from './store.js';

export interface SessionOptions {
  report: { info(line: string): void; notice(message: string): void };
  signal?: AbortSignal;
}

/**
 * What a command does while its session opens: the server's start of a session (a fork and authentication) and the
 * round trips after it take as long as reading a thousand files, so a command reads its files meanwhile (bench W2).
 */
export interface Overlap<F, S> {
  /** Reads the files; when it throws, the session is closed and that error wins over any connection error. */
  files(): Promise<F>;
  /** The first reads, sent as soon as the session is open (and, in a locked session, right behind the lock). */
  state(db: Db, connection: Connection): Promise<S>;
}

type Work<F, S, T> = (files: F, state: S, db: Db, connection: Connection, notices: NoticeRoute) => Promise<T>;

const NOTHING: Overlap<undefined, undefined> = { files: async () => undefined, state: async () => undefined };

/**
 * Runs `work` on a fresh connection to the target, announced on the report before connecting (so a failure to
 * connect still says where), closed whatever happens. A missing privilege becomes a 'config' error saying which.
 */
export async function withSession<T>(config: Config, options: SessionOptions, application: string, work: (db: Db, connection: Connection, notices: NoticeRoute) => Promise<T>): Promise<T> {
  return runSession(config, options, application, false, NOTHING, (_files, _state, db, connection, notices) => work(db, connection, notices));
}

/** As withSession, on a writable server, holding the migration lock of the schema (see acquireLock) while `work` runs. */
export async function withLockedSession<T>(config: Config, options: SessionOptions, application: string, work: (db: Db, notices: NoticeRoute, connection: Connection) => Promise<T>): Promise<T> {
  return runSession(config, options, application, true, NOTHING, (_files, _state, db, connection, notices) => work(db, notices, connection));
}

/** As withSession, with the files read and the first reads sent while the session opens (Overlap). */
export async function withSessionOverlapped<F, S, T>(config: Config, options: SessionOptions, application: string, overlap: Overlap<F, S>, work: Work<F, S, T>): Promise<T> {
  return runSession(config, options, application, false, overlap, work);
}

/** As withLockedSession, with the files read and the first reads sent (under the lock) while the session opens. */
export async function withLockedSessionOverlapped<F, S, T>(config: Config, options: SessionOptions, application: string, overlap: Overlap<F, S>, work: Work<F, S, T>): Promise<T> {
  return runSession(config, options, application, true, overlap, work);
}

async function runSession<F, S, T>(config: Config, options: SessionOptions, application: string, isLocked: boolean, overlap: Overlap<F, S>, work: Work<F, S, T>): Promise<T> {
  if (config.urlsFile) {
    throw new DbvcError('usage', `target ${config.db} is a list of databases (${config.urlsFile}); this command works on one database`, {
      hint: 'pass --url for the one to use; status, current, upgrade and downgrade take the whole list',
    });
  }
  const { openConnection, isTransient } = await import('./connect.js'); // postgres.js loads only for commands that connect
  const notices: NoticeRoute = { show: options.report.notice };
  let shown: string | undefined;
  const onTarget = (server: string) => {
    if (shown === undefined) options.report.info(`target ${config.db}: ${server} (URL from ${config.urlSource}), schema ${config.schema}`);
    shown = server;
  };
  const hooks = { onNotice: (message: string) => (notices.intercept ?? notices.show)(message), onInfo: options.report.info, onTarget };
  const cancel = new AbortController(); // gives up connecting (and waiting for the lock) when the files fail
  const open = () => openConnection(config, hooks, application, cancel.signal);
  const opening = connectWaiting(config, options, open, isTransient, () => shown ?? config.db, cancel.signal)
    .then((connection) => startWork(connection, config, options, isLocked, overlap, cancel.signal));
  opening.catch(() => undefined); // settled below, once the files are read
  let files: F;
  try {
    files = await overlap.files();
  } catch (error) {
    cancel.abort(new Error('cancelled'));
    await opening.then(({ connection }) => finish(connection, config, isLocked), () => undefined);
    throw error;
  }
  const { connection, state } = await opening;
  try {
    return await work(files, state, connection.db, connection, notices);
  } catch (error) {
    throw await explainPrivilege(connection.db, config, error);
  } finally {
    await finish(connection, config, isLocked);
  }
}

/**
 * Once connected: refuses a read-only server for a locked session, takes the lock, and sends the first reads in the
 * same pipeline as the lock (they stand only if the lock was granted: otherwise they are read again once it is).
 * Whatever fails closes the session.
 */
async function startWork<F, S>(connection: Connection, config: Config, options: SessionOptions, isLocked: boolean, overlap: Overlap<F, S>, cancel: AbortSignal): Promise<{ connection: Connection; state: S }> {
  const { db } = connection;
  let isLockHeld = false;
  try {
    if (!isLocked) return { connection, state: await settle(connection, overlap.state(db, connection)) };
    refuseReadOnly(connection);
    const locked = tryLock(db, config.schema);
    const state = overlap.state(db, connection);
    state.catch(() => undefined);
    isLockHeld = await locked;
    if (isLockHeld) return { connection, state: await settle(connection, state) };
    await state.catch(() => undefined);
    const stop = options.signal ? AbortSignal.any([options.signal, cancel]) : cancel;
    await acquireLock(db, config.schema, config.lockTimeoutMs, stop, options.report.info);
    isLockHeld = true;
    return { connection, state: await settle(connection, overlap.state(db, connection)) };
  } catch (error) {
    const explained = await explainPrivilege(db, config, error);
    await finish(connection, config, isLockHeld);
    throw explained;
  }
}

/** The first results, once the session setting sent before them has succeeded too (Connection.settled). */
async function settle<S>(connection: Connection, first: Promise<S>): Promise<S> {
  const [, state] = await Promise.all([connection.settled, first]);
  return state;
}

async function finish(connection: Connection, config: Config, isLockHeld: boolean): Promise<void> {
  if (isLockHeld) await releaseLock(connection.db, config.schema); // never throws; the session's end releases it too
  await connection.close();
}

async function explainPrivilege(db: Db, config: Config, error: unknown): Promise<unknown> {
  return (error as { code?: unknown }).code === '42501' && !(error instanceof DbvcError) ? privilegeError(db, config, error as Error) : error;
}

/**
 * Opens the connection; with --wait (config.waitMs), retries once a second while the server refuses or is starting
 * up, saying so once, until the wait is over. Any other failure, and every failure without --wait, is thrown at once.
 */
async function connectWaiting(config: Config, options: SessionOptions, open: () => Promise<Connection>, isTransient: (error: unknown) => boolean, server: () => string, cancel: AbortSignal): Promise<Connection> {
  const deadline = Date.now() + (config.waitMs ?? 0);
  const pause = options.signal ? AbortSignal.any([options.signal, cancel]) : cancel;
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (config.waitMs === undefined || !isTransient(error) || Date.now() >= deadline || options.signal?.aborted || cancel.aborted) throw error;
      if (attempt === 1) options.report.info(`waiting for ${server()} to accept connections (up to ${Math.round(config.waitMs / 1000)} s): ${(error as Error).message}`);
      await setTimeout(Math.min(1000, Math.max(0, deadline - Date.now())), undefined, { signal: pause }).catch(() => undefined);
    }
  }
}

/** A standby, or a database whose sessions are read-only, is refused before the lock and before anything runs. */
function refuseReadOnly(connection: Connection): void {
  if (!connection.isStandby && !connection.isReadOnly) return;
  const what = connection.isStandby ? 'is a standby (a read-only replica)' : 'only accepts read-only transactions (default_transaction_read_only is on)';
  throw new DbvcError('config', `${connection.server} ${what}: dbvc cannot move it`, {
    hint: 'point the URL at the primary server (its read-write endpoint); nothing was run',
  });
}

/**
 * A privilege dbvc's own bookkeeping lacks (PostgreSQL 15+ gives no CREATE on public to other roles) is the
 * database's set-up, not a bug: name the privilege, the role and the GRANT or --schema that fixes it.
 */
async function privilegeError(db: Db, config: Config, error: Error): Promise<DbvcError> {
  const role = await db`select current_user as role`.then((rows) => String(rows[0].role), () => 'this role');
  const [, kind, object] = /permission denied for (schema|database|table|sequence) (.+)$/.exec(error.message) ?? [];
  const grants: Record<string, string> = {
    schema: `GRANT CREATE ON SCHEMA ${object} TO ${role}`,
    database: `GRANT CREATE ON DATABASE ${object} TO ${role}`,
    table: `GRANT SELECT, INSERT, UPDATE, DELETE ON ${config.schema}.${object} TO ${role}`,
    sequence: `GRANT USAGE ON SEQUENCE ${config.schema}.${object} TO ${role}`,
  };
  const grant = kind ? `${grants[kind]} (as the owner or a superuser)` : 'the missing GRANT (as the owner or a superuser)';
  return new DbvcError('config', `role ${role} may not do what dbvc's bookkeeping in schema ${config.schema} needs: ${error.message} (SQLSTATE 42501)`, {
    hint: `run ${grant}, or keep alembic_version and dbvc_history in a schema ${role} owns: --schema NAME (or DBVC_SCHEMA in the env file)`,
    cause: error,
  });
}
