// The scratch server review rehearses on: an embedded PostgreSQL of its own, or one the user names, where dbvc
// creates and drops only databases named dbvc_scratch_*; and the template databases that keep reviews warm.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config, ServerAddress } from '../config.js';
import type { Connection } from '../connect.js';
import { DbvcError } from '../core/errors.js';
import type { Migration } from '../core/plan.js';
import { runCancellable, type Db } from '../store.js';
import { dropLeftovers, scratchName } from './leftovers.js';
import { buildTemplate, markTemplateUsed, pruneTemplates, spareName } from './template.js';

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
  // The template instance it is a copy of (cluster, oid, name): the same origin, the same schema, for a cache to key
  // on. Undefined when it is a copy of template0, or when the server does not say who it is.
  origin?: string;
  drop(): Promise<void>;
}

export interface ScratchServer {
  serverVersion: string; // "17.10"
  isEmbedded: boolean;
  display: string;
  /** A libpq-style URL of `database` on this server, password included: for tools with a driver of their own (migra). */
  urlOf(database: string): string;
  /** A new database holding what `earlier` leaves (run from base, or copied from the template of that chain). */
  prepare(earlier: Migration[], options?: PrepareOptions): Promise<ScratchDatabase>;
  /** Waits for the spare copies being made, then leaves the server. */
  close(): Promise<void>;
}

export interface PrepareOptions {
  // Also copy the template once more in the background, for the next prepare of the same history (a spare): the
  // copy of a large template takes seconds, and then overlaps this run's work instead of delaying the next run.
  makeSpare?: boolean;
  signal?: AbortSignal; // cancels the template's build and the spare's copy
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
  const [{ server_version, tls, fsync, now_ms }] = await admin.db`
    select current_setting('server_version') as server_version, current_setting('fsync') as fsync,
           coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as tls,
           (extract(epoch from clock_timestamp()) * 1000)::int8 as now_ms`;
  const clockOffset = Number(now_ms) - Date.now(); // names carry the server's time: clients' clocks may differ
  const copies = new Copies(admin.db, () => open(address.database), copyStrategy(!options.url, admin.serverVersionNum), fsync === 'on', () => Date.now() + clockOffset);
  copies.inBackground((db) => dropLeftovers(db)); // what killed runs left here
  const cluster = await readClusterId(admin.db);
  return {
    serverVersion: String(server_version).split(' ')[0],
    isEmbedded: !options.url,
    display: address.display,
    urlOf: (database) => addressUrl(address, database, Boolean(tls)),
    prepare: (earlier, prepareOptions = {}) => prepareDatabase(admin.db, open, copies, cluster, earlier, prepareOptions).catch((error) => {
      throw asScratchError(error, address, 'cannot hold a scratch database', 'the --scratch-url user needs CREATEDB (dbvc creates and drops only dbvc_scratch_* databases)');
    }),
    async close() {
      await copies.settle();
      await admin.close();
      await stop();
    },
  };
}

// On the embedded server, which skips fsync, copying a template's files is quicker than WAL_LOG (PostgreSQL 15's
// default), which reads every page through shared buffers (empty after each start) and writes it to the WAL too.
// A server the user names keeps its default: with fsync on, FILE_COPY syncs every file and forces two checkpoints.
function copyStrategy(isEmbedded: boolean, serverVersionNum: number): string {
  return isEmbedded && serverVersionNum >= 150000 ? ' strategy file_copy' : '';
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
  // A crash loses nothing review needs (a template is rebuilt when missing), so the scratch server skips the flushes.
  // No autovacuum: it would visit every new template and copy, and a worker in a template delays CREATE DATABASE
  // from it (PostgreSQL waits for it to leave).
  const settings = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', autovacuum: 'off' };
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

async function prepareDatabase(admin: Db, open: (database: string) => Promise<Connection>, copies: Copies, cluster: string | undefined, earlier: Migration[], options: PrepareOptions): Promise<ScratchDatabase> {
  const name = copies.nameFor('copy');
  let isWarm = false;
  let origin: string | undefined;
  if (earlier.length === 0) await copies.copy('template0', name);
  else {
    const template = templateName(earlier);
    const copied = await copyTemplate(admin, open, copies, earlier, template, name, options.signal);
    isWarm = copied.isWarm;
    if (cluster) origin = `${cluster} ${copied.oid} ${template}`;
    if (isWarm) await markTemplateUsed(admin, template, new Date());
    else copies.inBackground(pruneTemplates);
    // With fsync on, each copy is written again by the checkpoint the DROP DATABASE at the end forces; after a
    // build (a fresh CI server, say) there may be no next review to use the spare, so only a warm review makes one.
    if (options.makeSpare && (isWarm || !copies.isDurable)) copies.makeSpare(template, copied.oid, options.signal);
  }
  const opened = await Promise.allSettled([open(name), open(name)]);
  const [connection, observer] = opened.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
  if (!connection || !observer) {
    await Promise.all([connection?.close(), observer?.close()]);
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    throw (opened.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason;
  }
  return {
    name, db: connection.db, observer: observer.db, isWarm, origin,
    async drop() {
      await connection.close();
      await observer.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
    },
  };
}

/**
 * Copies of templates. A spare is a copy made ahead, named dbvc_scratch_spare_<template's hash>_<template's oid>_<random>:
 * nobody connects to it, so it holds exactly the state of that template, and a prepare claims it by renaming it
 * (atomic: of two reviews that want the same spare, one gets it and the other makes a copy of its own).
 */
class Copies {
  private pending: Promise<void>[] = [];

  constructor(private admin: Db, private openAdmin: () => Promise<Connection>, private strategy: string, readonly isDurable: boolean, private serverNow: () => number) {}

  /** A name for a new working copy or template build (leftovers.ts). */
  nameFor(kind: 'copy' | 'build'): string {
    return scratchName(kind, this.serverNow());
  }

  async copy(template: string, name: string): Promise<void> {
    await this.admin.unsafe(`create database ${name} template ${template}${template === 'template0' ? '' : this.strategy}`);
  }

  async claimSpare(template: string, oid: number, name: string): Promise<boolean> {
    for (const spare of await listSpares(this.admin, template, oid)) {
      try {
        await this.admin.unsafe(`alter database ${spare} rename to ${name}`);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code !== '3D000') throw error; // another review claimed it first
      }
    }
    return false;
  }

  /** Starts a spare of `template` unless one is there; errors are dropped (the next prepare copies as before). */
  makeSpare(template: string, oid: number, signal?: AbortSignal): void {
    this.inBackground((db) => this.copySpare(db, template, oid, signal));
  }

  /**
   * After a build on a server with fsync on: the pages of the new template are all unwritten, and the DROP DATABASE
   * at the end of the review forces a checkpoint that writes them, which the review then waits for (a second for a
   * 1000-table template). Started now, that checkpoint overlaps the copy and the rehearsal instead. It needs a
   * superuser or pg_checkpoint (PostgreSQL 15 on): without either, nothing is tried (no error in the server's log)
   * and the drop pays for it as before.
   */
  flushEarly(): void {
    if (!this.isDurable) return;
    this.inBackground(async (db) => {
      const [{ allowed }] = await db`
        select rolsuper or exists (select from pg_roles c where c.rolname = 'pg_checkpoint' and pg_has_role(c.oid, 'member')) as allowed
        from pg_roles where rolname = current_user`;
      if (allowed) await db.unsafe('checkpoint');
    });
  }

  /** Runs `work` on a session of its own, alongside whatever comes next; errors are dropped. */
  inBackground(work: (admin: Db) => Promise<unknown>): void {
    const running = (async () => {
      const connection = await this.openAdmin();
      try {
        await work(connection.db);
      } finally {
        await connection.close();
      }
    })();
    this.pending.push(running.catch(() => undefined));
  }

  /** Waits for the work started in the background. */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
  }

  private async copySpare(db: Db, template: string, oid: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || (await listSpares(db, template, oid)).length > 0) return;
    await runCancellable(db, `create database ${spareName(template, `${oid}_${randomBytes(3).toString('hex')}`)} template ${template}${this.strategy}`, signal);
  }
}

// Only whole spares: a copy still being made is not visible, and one whose DROP was cut short is marked invalid.
async function listSpares(db: Db, template: string, oid: number): Promise<string[]> {
  const prefix = spareName(template, `${oid}_`).replaceAll('_', '\\_');
  const rows = await db`select datname from pg_database where datname like ${`${prefix}%`} and datconnlimit <> -2 order by oid`;
  return rows.map((r) => r.datname as string);
}

/** Copies the template of `earlier` to `name` (or claims a spare of it), building the template when it is missing. */
async function copyTemplate(admin: Db, open: (database: string) => Promise<Connection>, copies: Copies, earlier: Migration[], template: string, name: string, signal?: AbortSignal): Promise<{ isWarm: boolean; oid: number }> {
  const oid = await databaseOid(admin, template);
  if (oid !== undefined) {
    if (await copies.claimSpare(template, oid, name)) return { isWarm: true, oid };
    try {
      await copies.copy(template, name);
      return { isWarm: true, oid };
    } catch (error) {
      if ((error as { code?: string }).code !== '3D000') throw error; // another review pruned it meanwhile
    }
  }
  await buildTemplate(admin, open, earlier, template, copies.nameFor('build'), signal);
  copies.flushEarly();
  await copies.copy(template, name);
  return { isWarm: false, oid: (await databaseOid(admin, template))! };
}

async function databaseOid(admin: Db, name: string): Promise<number | undefined> {
  const rows = await admin`select oid::int8 as oid from pg_database where datname = ${name}`;
  return rows.length > 0 ? Number(rows[0].oid) : undefined;
}

// The cluster's system identifier: a template's oid names one instance of it only within its cluster.
async function readClusterId(admin: Db): Promise<string | undefined> {
  try {
    const [row] = await admin`select system_identifier::text as id from pg_control_system()`;
    return row.id as string;
  } catch {
    return undefined; // a server that keeps it to itself: nothing is cached
  }
}
