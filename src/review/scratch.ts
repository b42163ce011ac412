// The scratch server review rehearses on: an embedded PostgreSQL of its own, or one the user names, where dbvc
// creates and drops only databases named dbvc_scratch_*; and the template databases that keep reviews warm.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config, ServerAddress } from '../config.js';
import type { Connection } from '../connect.js';
import { DbvcError } from '../core/errors.js';
import type { Migration } from '../core/plan.js';
import type { Db } from '../store.js';
import { buildTemplate } from './template.js';

export interface ScratchOptions {
  root: string; // the project: the embedded server lives in <root>/.dbvc/scratch
  url?: string; // --scratch-url
  env: NodeJS.ProcessEnv;
  onNotice(message: string): void;
  onInfo(line: string): void;
}

export interface ScratchDatabase {
  name: string;
  db: Db;
  observer: Db; // a second session on it: reads the locks of statements that run outside a transaction block
  isWarm: boolean; // it was copied from a template that already existed
  drop(): Promise<void>;
}

export interface ScratchServer {
  serverVersion: string; // "17.10"
  isEmbedded: boolean;
  display: string;
  /** A libpq-style URL of `database` on this server, password included: for tools with a driver of their own (migra). */
  urlOf(database: string): string;
  /** A new database holding what `earlier` leaves (run from base, or copied from the template of that chain). */
  prepare(earlier: Migration[]): Promise<ScratchDatabase>;
  close(): Promise<void>;
}

/** Starts or reaches the scratch server; throws a 'connect' DbvcError (exit 5) when it cannot. */
export async function openScratch(options: ScratchOptions): Promise<ScratchServer> {
  const { address, stop } = await locateServer(options);
  const open = (database: string) => connectTo(address, database, options);
  let admin: Connection;
  try {
    admin = await open(address.database);
  } catch (error) {
    await stop();
    throw asScratchError(error, address, 'is unreachable', 'check --scratch-url, or leave it out to use an embedded PostgreSQL');
  }
  const [{ server_version, tls }] = await admin.db`
    select current_setting('server_version') as server_version,
           coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as tls`;
  return {
    serverVersion: String(server_version).split(' ')[0],
    isEmbedded: !options.url,
    display: address.display,
    urlOf: (database) => addressUrl(address, database, Boolean(tls)),
    prepare: (earlier) => prepareDatabase(admin.db, open, earlier).catch((error) => {
      throw asScratchError(error, address, 'cannot hold a scratch database', 'the --scratch-url user needs CREATEDB (dbvc creates and drops only dbvc_scratch_* databases)');
    }),
    async close() {
      await admin.close();
      await stop();
    },
  };
}

async function locateServer(options: ScratchOptions): Promise<{ address: ServerAddress; stop: () => Promise<void> }> {
  if (options.url) {
    const { parseDatabaseUrl } = await import('../config.js');
    const server = parseDatabaseUrl(options.url, '--scratch-url', options.env, options.root);
    if (server.kind !== 'url') throw new DbvcError('usage', '--scratch-url must be a postgres:// URL', { hint: 'leave it out to use an embedded PostgreSQL' });
    return { address: server, stop: async () => {} };
  }
  const folder = join(options.root, '.dbvc', 'scratch');
  const { startEmbedded } = await import('../embedded.js');
  // A crash loses nothing review needs (a template is rebuilt when missing), so the scratch server skips the flushes
  const settings = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
  const embedded = await startEmbedded(folder, options.onInfo, { settings }).catch((error: Error & { hint?: string }) => {
    throw new DbvcError('connect', `the embedded scratch PostgreSQL did not start: ${error.message}`, {
      hint: error.hint ?? `see .dbvc/scratch/server.log; deleting .dbvc/scratch starts it afresh (only review's templates are lost), or pass --scratch-url`,
      cause: error,
    });
  });
  const address: ServerAddress = {
    host: embedded.socketDir, port: embedded.port, database: embedded.database, username: embedded.user,
    ssl: false, sslmode: 'disable', connectTimeout: 10, targetSessionAttrs: 'any', alternates: [], tlsFiles: {}, display: 'embedded PostgreSQL (.dbvc/scratch)',
  };
  return { address, stop: () => embedded.stop() };
}

async function connectTo(address: ServerAddress, database: string, options: ScratchOptions): Promise<Connection> {
  const { openConnection } = await import('../connect.js');
  const config = { db: 'scratch', server: { kind: 'url', ...address, database } } as unknown as Config;
  return openConnection(config, { onNotice: options.onNotice, onInfo: options.onInfo, onTarget: () => {} }, 'dbvc review');
}

// A socket directory goes in ?host= (node-postgres and libpq both read it there); the password is never displayed.
// TLS as our own connection got it, in libpq's meanings (uselibpqcompat): node-postgres has no sslmode=prefer
// fallback, so a session that got TLS asks for it; require with a CA file verifies the chain, as verify-ca does.
// The CA file and client certificate go by path (pg-connection-string reads them); verify-ca without a CA file
// becomes verify-full (node-postgres cannot check the chain against the system's CAs without the host name).
export function addressUrl(address: ServerAddress, database: string, usesTls: boolean): string {
  const params = new URLSearchParams();
  let host = '';
  if (address.host.startsWith('/')) {
    params.set('host', address.host);
    params.set('port', String(address.port));
  } else {
    host = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  }
  const { sslrootcert, sslcert, sslkey } = address.tlsFiles;
  const ca = sslrootcert === 'system' ? undefined : sslrootcert;
  if (!usesTls) params.set('sslmode', 'disable');
  else {
    params.set('uselibpqcompat', 'true');
    const isVerifying = address.sslmode === 'verify-full' || (address.sslmode === 'verify-ca' && ca === undefined);
    params.set('sslmode', isVerifying ? 'verify-full' : address.sslmode === 'verify-ca' ? 'verify-ca' : 'require');
    if (ca) params.set('sslrootcert', ca);
    if (sslcert && sslkey) {
      params.set('sslcert', sslcert);
      params.set('sslkey', sslkey);
    }
  }
  const password = address.password === undefined ? '' : `:${encodeURIComponent(address.password)}`;
  const query = params.size > 0 ? `?${params}` : '';
  return `postgres://${encodeURIComponent(address.username)}${password}@${host}/${encodeURIComponent(database)}${query}`;
}

// By its code rather than instanceof: connect.ts is loaded on demand, and a test runner may hold two copies of it.
function asScratchError(error: unknown, address: ServerAddress, what: string, hint: string): unknown {
  const e = error as { code?: unknown; message?: string; hint?: string; name?: string };
  if (e?.name === 'DbvcError' && e.code !== 'connect') return error;
  return new DbvcError('connect', `the scratch server ${address.display} ${what}: ${e?.message ?? String(error)}`, { hint: e?.hint ?? hint, cause: error });
}

/** dbvc_scratch_tpl_ and 24 hex digits of the SHA-256 of the chain of checksums: the same history, the same name. */
export function templateName(earlier: Migration[]): string {
  const chain = earlier.map((m) => `${m.version} ${m.up.checksum}`).join('\n');
  return `dbvc_scratch_tpl_${createHash('sha256').update(chain).digest('hex').slice(0, 24)}`;
}

async function prepareDatabase(admin: Db, open: (database: string) => Promise<Connection>, earlier: Migration[]): Promise<ScratchDatabase> {
  let template = 'template0';
  let isWarm = false;
  if (earlier.length > 0) {
    template = templateName(earlier);
    isWarm = await databaseExists(admin, template);
    if (!isWarm) await buildTemplate(admin, open, earlier, template);
  }
  const name = `dbvc_scratch_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`create database ${name} template ${template}`);
  let connection: Connection | undefined;
  let observer: Connection;
  try {
    connection = await open(name);
    observer = await open(name);
  } catch (error) {
    await connection?.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    throw error;
  }
  return {
    name, db: connection.db, observer: observer.db, isWarm,
    async drop() {
      await connection.close();
      await observer.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
    },
  };
}

async function databaseExists(admin: Db, name: string): Promise<boolean> {
  const rows = await admin`select 1 from pg_database where datname = ${name}`;
  return rows.length > 0;
}
