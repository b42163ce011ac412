// A live database read for its schema, read-only: baseline's target, and revision --autogenerate --from-url's
// development database. The schema is what check and dump compare; the URL is for migra's driver.
import type { Reporter } from '../api.js';
import type { Config } from '../config.js';
import { quoteIdent } from '../core/ledger.js';
import type { Snapshot } from '../core/snapshot.js';
import type { Db } from '../store.js';
import type { ServerAddress } from '../url.js';
import { readComments } from './comments.js';

export interface SourceSchema {
  url: string; // for migra's driver, password included: never shown
  schema: Snapshot; // without dbvc's two tables in config.schema
}

/**
 * Opens one session on `server` (shown as `what: <masked URL> (read-only)`), lets `inspect` look first (it may throw
 * to refuse the database), then reads its catalogs. Reads only: no lock, nothing written.
 */
export async function readSourceSchema(config: Config, server: ServerAddress, what: string, report: Reporter, inspect: (db: Db) => Promise<void> = async () => {}): Promise<SourceSchema> {
  const [{ openConnection }, { readSnapshot }, { addressUrl }] = await Promise.all([import('../connect.js'), import('../review/snapshot.js'), import('../review/scratch.js')]);
  const onTarget = (shown: string) => report.info(`${what}: ${shown} (read-only)`);
  const connection = await openConnection({ ...config, server: { kind: 'url', ...server } }, { onNotice: report.notice, onInfo: report.info, onTarget }, 'dbvc authoring');
  try {
    await inspect(connection.db);
    const snapshot = await readSnapshot(connection.db, config.schema);
    const [{ tls }] = await connection.db`select coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as tls`;
    const schema = { objects: [...snapshot.objects, ...(await readComments(connection.db))] };
    return { url: addressUrl(server, server.database, Boolean(tls)), schema };
  } finally {
    await connection.close();
  }
}

/** Whether a schema holds nothing of the user's: only schemas and the plpgsql every database has. */
export function isEmptySchema(schema: Snapshot): boolean {
  return schema.objects.every((o) => o.kind === 'schema' || (o.kind === 'extension' && o.name === 'plpgsql'));
}

/** dbvc's own two tables as migra names them (every part quoted), for diffDatabases' leaveOut. */
export function bookkeepingTables(config: Config): string[] {
  return ['alembic_version', 'dbvc_history'].map((table) => `${quoteIdent(config.schema)}.${quoteIdent(table)}`);
}
