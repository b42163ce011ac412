// One connection per command: open it (waiting for a starting server with --wait), say which target and server it
// acts on, refuse a read-only server before moving anything, hold the migration lock if asked, and always close it.
import { setTimeout } from 'node:timers/promises';
import type { Config } from './config.js';
import type { Connection } from './connect.js';
import { DbvcError } from './core/errors.js';
import type { NoticeRoute } from './runner.js';
import { acquireLock, releaseLock, type Db } from './store.js';

export interface SessionOptions {
  report: { info(line: string): void; notice(message: string): void };
  signal?: AbortSignal;
}

/**
 * Runs `work` on a fresh connection to the target, announced on the report before connecting (so a failure to
 * connect still says where), closed whatever happens. A missing privilege becomes a 'config' error saying which.
 */
export async function withSession<T>(config: Config, options: SessionOptions, application: string, work: (db: Db, connection: Connection, notices: NoticeRoute) => Promise<T>): Promise<T> {
  if (config.urlsFile) {
    throw new DbvcError('usage', `target ${config.db} is a list of databases (${config.urlsFile}); this command works on one database`, {
      hint: 'pass --url for the one to use; status, current, upgrade and downgrade take the whole list',
    });
  }
  const { openConnection } = await import('./connect.js'); // postgres.js loads only for commands that connect
  const notices: NoticeRoute = { show: options.report.notice };
  let shown: string | undefined;
  const onTarget = (server: string) => {
    if (shown === undefined) options.report.info(`target ${config.db}: ${server} (URL from ${config.urlSource}), schema ${config.schema}`);
    shown = server;
  };
  const hooks = { onNotice: (message: string) => (notices.intercept ?? notices.show)(message), onInfo: options.report.info, onTarget };
  const connection = await connectWaiting(config, options, () => openConnection(config, hooks, application), () => shown ?? config.db);
  try {
    return await work(connection.db, connection, notices);
  } catch (error) {
    throw (error as { code?: unknown }).code === '42501' && !(error instanceof DbvcError) ? await privilegeError(connection.db, config, error as Error) : error;
  } finally {
    await connection.close();
  }
}

/** As withSession, on a writable server, holding the migration lock of the schema (see acquireLock) while `work` runs. */
export async function withLockedSession<T>(config: Config, options: SessionOptions, application: string, work: (db: Db, notices: NoticeRoute, connection: Connection) => Promise<T>): Promise<T> {
  return withSession(config, options, application, async (db, connection, notices) => {
    await refuseReadOnly(db, connection.server);
    await acquireLock(db, config.schema, config.lockTimeoutMs, options.signal, options.report.info);
    try {
      return await work(db, notices, connection);
    } finally {
      await releaseLock(db, config.schema);
    }
  });
}

/**
 * Opens the connection; with --wait (config.waitMs), retries once a second while the server refuses or is starting
 * up, saying so once, until the wait is over. Any other failure, and every failure without --wait, is thrown at once.
 */
async function connectWaiting(config: Config, options: SessionOptions, open: () => Promise<Connection>, server: () => string): Promise<Connection> {
  const { isTransient } = await import('./connect.js');
  const deadline = Date.now() + (config.waitMs ?? 0);
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (config.waitMs === undefined || !isTransient(error) || Date.now() >= deadline || options.signal?.aborted) throw error;
      if (attempt === 1) options.report.info(`waiting for ${server()} to accept connections (up to ${Math.round(config.waitMs / 1000)} s): ${(error as Error).message}`);
      await setTimeout(Math.min(1000, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
}

/** A standby, or a database whose sessions are read-only, is refused before the lock and before anything runs. */
async function refuseReadOnly(db: Db, server: string): Promise<void> {
  const [state] = await db`select pg_is_in_recovery() as standby, current_setting('transaction_read_only') = 'on' as read_only`;
  if (!state.standby && !state.read_only) return;
  const what = state.standby ? 'is a standby (a read-only replica)' : 'only accepts read-only transactions (default_transaction_read_only is on)';
  throw new DbvcError('config', `${server} ${what}: dbvc cannot move it`, {
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
