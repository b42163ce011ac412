// One connection per command: open it, say which target and server it acts on, hold the migration lock if asked,
// and always close it.
import type { Config } from './config.js';
import type { Connection } from './connect.js';
import { DbvcError } from './core/errors.js';
import type { NoticeRoute } from './runner.js';
import { acquireLock, releaseLock, type Db } from './store.js';

export interface SessionOptions {
  report: { info(line: string): void; notice(message: string): void };
  signal?: AbortSignal;
}

/** Runs `work` on a fresh connection to the target, announced on the report, closed whatever happens. */
export async function withSession<T>(config: Config, options: SessionOptions, application: string, work: (db: Db, connection: Connection, notices: NoticeRoute) => Promise<T>): Promise<T> {
  if (config.urlsFile) {
    throw new DbvcError('usage', `target ${config.db} is a list of databases (${config.urlsFile}); this command works on one database`, {
      hint: 'pass --url for the one to use; status, current, upgrade and downgrade take the whole list',
    });
  }
  const { openConnection } = await import('./connect.js'); // postgres.js loads only for commands that connect
  const notices: NoticeRoute = { show: options.report.notice };
  const connection = await openConnection(config, { onNotice: (message) => (notices.intercept ?? notices.show)(message), onInfo: options.report.info }, application);
  options.report.info(`target ${config.db}: ${connection.server} (URL from ${config.urlSource}), schema ${config.schema}`);
  try {
    return await work(connection.db, connection, notices);
  } finally {
    await connection.close();
  }
}

/** As withSession, holding the migration lock of the schema (see acquireLock) while `work` runs. */
export async function withLockedSession<T>(config: Config, options: SessionOptions, application: string, work: (db: Db, notices: NoticeRoute, connection: Connection) => Promise<T>): Promise<T> {
  return withSession(config, options, application, async (db, connection, notices) => {
    await acquireLock(db, config.schema, config.lockTimeoutMs, options.signal);
    try {
      return await work(db, notices, connection);
    } finally {
      await releaseLock(db, config.schema);
    }
  });
}
