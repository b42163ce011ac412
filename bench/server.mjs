// The PostgreSQL the benchmark runs on: BENCH_DATABASE_URL, or an embedded server in a temp folder; fresh databases on it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';

const MAX_LOCKS = 1024;

/**
 * Opens the server. With BENCH_DATABASE_URL (postgres://user[:pass]@host[:port]/db[?host=/socket&port=N&sslmode=...])
 * it is used as is; otherwise dist/embedded.js starts PostgreSQL in a temp data dir (Unix socket only).
 * Returns { kind, display, version, urlFor(db), create(), drop(db), checkpoint(), query(db, text), close() }.
 */
export async function openServer(root, log) {
  const given = process.env.BENCH_DATABASE_URL;
  let base;
  let stopServer = async () => {};
  let display;
  if (given) {
    base = new URL(given);
    display = `BENCH_DATABASE_URL ${maskUrl(given)}`;
  } else {
    const { startEmbedded } = await import(pathToFileURL(join(root, 'dist/embedded.js')).href);
    const dataDir = await mkdtemp(join(tmpdir(), 'dbvc-bench-pg-'));
    const start = () => startEmbedded(dataDir, (line) => log(`[embedded] ${line}`));
    let server = await start();
    base = new URL(`postgres://${server.user}@localhost/${server.database}`);
    base.searchParams.set('host', server.socketDir);
    base.searchParams.set('port', String(server.port));
    // psql -1 -f at N=10000 locks ~50000 new relations (table, two indexes, TOAST table and index each): the
    // default lock table (64 per connection) runs out of shared memory. A restart applies the larger one.
    const setup = connect(base, 'postgres');
    await setup.unsafe(`alter system set max_locks_per_transaction = ${MAX_LOCKS}`);
    await setup.end({ timeout: 2 });
    await server.stop();
    server = await start();
    display = `embedded PostgreSQL in ${dataDir} (socket, max_locks_per_transaction=${MAX_LOCKS})`;
    stopServer = async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const admin = connect(base, decodeURIComponent(base.pathname.slice(1)) || 'postgres');
  const [{ server_version: version }] = await admin`show server_version`;
  const created = new Set();
  let sequence = 0;
  const urlFor = (db) => {
    const url = new URL(base.href);
    url.pathname = `/${db}`;
    return url.href;
  };
  return {
    kind: given ? 'url' : 'embedded',
    display,
    version,
    urlFor,
    async create() {
      const db = `dbvc_bench_${process.pid}_${++sequence}`;
      await admin.unsafe(`create database ${db}`);
      created.add(db);
      return db;
    },
    async drop(db) {
      await admin.unsafe(`drop database if exists ${db} with (force)`);
      created.delete(db);
    },
    // Fair to every contender: nobody pays for a checkpoint the previous run's WAL triggered.
    async checkpoint() {
      await admin.unsafe('checkpoint').catch(() => undefined); // needs a superuser (or pg_checkpoint); optional
    },
    async query(db, text) {
      const client = connect(base, db);
      try {
        return await client.unsafe(text);
      } finally {
        await client.end({ timeout: 2 });
      }
    },
    async close() {
      for (const db of created) await admin.unsafe(`drop database if exists ${db} with (force)`).catch(() => undefined);
      await admin.end({ timeout: 2 });
      await stopServer();
    },
  };
}

// Parsed by hand, as dbvc does: postgres.js would send ?host=/dir as a startup parameter.
function connect(url, database) {
  const q = url.searchParams;
  const sslmode = q.get('sslmode') ?? 'disable';
  return postgres({
    host: q.get('host') ?? (url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost'),
    port: Number(q.get('port') ?? (url.port || 5432)),
    database,
    username: decodeURIComponent(url.username) || 'postgres',
    password: url.password ? decodeURIComponent(url.password) : undefined,
    ssl: ['require', 'verify-ca', 'verify-full'].includes(sslmode) ? 'require' : sslmode === 'prefer' ? 'prefer' : false,
    max: 1,
    onnotice: () => {},
  });
}

export function maskUrl(text) {
  return text.replace(/:[^:@/]*@/, ':***@');
}
