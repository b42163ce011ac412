// Throwaway processes the robust tests start (extra PostgreSQL servers, PgBouncer, a silent listener, CLI runs),
// each tracked so the test's after hook (or, at worst, process exit) stops it.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { embeddedBinaries, startEmbedded } from '../../src/embedded.js';
import type { Db } from '../../src/store.js';
import { findCommand } from './common.js';
import { ROOT } from './db.js';

const execFileAsync = promisify(execFile);

export const CLI = join(ROOT, 'dist/dbvc.cjs');
/** Set by `make soak`: the scenarios repeat more. */
export const SOAK = process.env.DBVC_SOAK === '1';

const cleanups = new Set<() => Promise<void>>();
const pids = new Set<number>(); // killed with SIGKILL / SIGQUIT on exit if an after hook never ran

function killAll(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGQUIT'); // a postmaster's immediate shutdown; ends a node or pgbouncer too
    } catch {}
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Stops everything started through this module; call it from every suite's after hook. */
export async function stopAll(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.allSettled(pending.map((stop) => stop()));
}

/** A temp folder the postgres OS user can enter (mkdtemp makes it 0700 and root's). */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `dbvc-${prefix}-`));
  await chmod(dir, 0o755);
  cleanups.add(async () => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface RunAs { uid: number; gid: number }

function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout);
  return { uid: id('-u'), gid: id('-g') };
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL servers on 127.0.0.1:<free port>

export interface ServerOptions {
  /** pg_hba.conf lines; default: trust on the socket and on 127.0.0.1 */
  hba?: string[];
  /** postgresql.conf settings */
  settings?: Record<string, string>;
  /** PEM files copied in as server.crt / server.key (ssl=on is then set) */
  tls?: { cert: string; key: string };
}

export interface TestServer {
  port: number;
  socketDir: string;
  pgdata: string;
  logPath: string;
  /** postgres://user[:password]@127.0.0.1:port/database[?params] */
  url(database?: string, options?: { user?: string; password?: string; params?: string }): string;
  /** A superuser client over the Unix socket (trust). */
  admin(database?: string): Db;
  /** starts it unless it runs */
  start(): Promise<void>;
  /** pg_ctl stop -m fast | immediate (immediate: no checkpoint, backends die at once, crash recovery on start) */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  postmasterPid(): Promise<number | undefined>;
}

/**
 * A new cluster in a temp folder: initialised by src/embedded.ts (initdb as the postgres OS user), then started by
 * pg_ctl here, because embedded.ts passes listen_addresses and port on the command line, which wins over any file
 * in the data folder, and these tests need TCP (TLS, pg_hba host lines, PgBouncer).
 */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const dir = await makeTempDir('server');
  const clusterDir = join(dir, 'cluster');
  const embedded = await startEmbedded(clusterDir, () => {});
  await embedded.stop();
  const pgdata = join(clusterDir, 'pgdata');
  const logPath = join(dir, 'postgres.log');
  const runAs = postgresUser();
  const { pg_ctl: pgCtl } = await embeddedBinaries(); // as root, a copy the postgres OS user can reach
  const port = await freePort();
  // fsync off only guards against an OS crash, which these servers never see: an immediate shutdown loses nothing
  const settings: Record<string, string> = { fsync: 'off', ...options.settings };
  if (options.tls) {
    for (const [from, to] of [[options.tls.cert, 'server.crt'], [options.tls.key, 'server.key']]) {
      await copyFile(from, join(pgdata, to));
      await chmod(join(pgdata, to), 0o600);
      if (runAs) await chown(join(pgdata, to), runAs.uid, runAs.gid);
    }
    settings.ssl = 'on';
  }
  const conf = Object.entries(settings).map(([k, v]) => `${k} = '${v}'`).join('\n');
  await writeFile(join(pgdata, 'postgresql.conf'), `${await readFile(join(pgdata, 'postgresql.conf'), 'utf8')}\n${conf}\n`);
  const hba = options.hba ?? ['local all all trust', 'host all all 127.0.0.1/32 trust'];
  await writeFile(join(pgdata, 'pg_hba.conf'), hba.join('\n') + '\n');
  await writeFile(logPath, '');
  if (runAs) await chown(logPath, runAs.uid, runAs.gid);
  const serverArgs = `-c listen_addresses=127.0.0.1 -p ${port} -k ${clusterDir} -c logging_collector=off`;
  const pgCtlRun = (args: string[]) =>
    execFileAsync(pgCtl, ['-D', pgdata, ...args], { ...runAs, env: { ...process.env, LC_ALL: 'C' }, timeout: 60_000 });
  const postmasterPid = async () => {
    const text = await readFile(join(pgdata, 'postmaster.pid'), 'utf8').catch(() => '');
    const pid = Number(text.split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  let running = false;
  const server: TestServer = {
    port, socketDir: clusterDir, pgdata, logPath,
    url(database = 'postgres', o = {}) {
      const auth = `${encodeURIComponent(o.user ?? 'postgres')}${o.password ? `:${encodeURIComponent(o.password)}` : ''}`;
      return `postgres://${auth}@127.0.0.1:${port}/${database}${o.params ? `?${o.params}` : ''}`;
    },
    admin(database = 'postgres') {
      return postgres({ host: clusterDir, port, database, username: 'postgres', max: 1, onnotice: () => {} }) as unknown as Db;
    },
    async start() {
      if (running) return;
      await pgCtlRun(['start', '-w', '-t', '60', '-s', '-l', logPath, '-o', serverArgs]);
      running = true;
      const pid = await postmasterPid();
      if (pid) pids.add(pid);
    },
    async stop(mode = 'fast') {
      const pid = await postmasterPid();
      if (running) await pgCtlRun(['stop', '-w', '-t', '60', '-s', '-m', mode]);
      running = false;
      if (pid) pids.delete(pid);
    },
    postmasterPid,
  };
  cleanups.add(async () => {
    await server.stop('immediate').catch(() => undefined);
  });
  await server.start();
  return server;
}

/** A CA, a server certificate it signed (CN localhost, SAN localhost and 127.0.0.1) and a second, unrelated CA. */
export async function makeCertificates(): Promise<{ ca: string; wrongCa: string; cert: string; key: string }> {
  const dir = await makeTempDir('tls');
  const file = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileAsync('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=dbvc test CA');
  await ssl('req', '-x509', ...ec, '-keyout', 'wrong.key', '-out', 'wrong.crt', '-days', '2', '-subj', '/CN=dbvc unrelated CA');
  await ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  await writeFile(file('san.ext'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\n');
  await ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  return { ca: file('ca.crt'), wrongCa: file('wrong.crt'), cert: file('server.crt'), key: file('server.key') };
}

// ---------------------------------------------------------------------------------------------------------------
// PgBouncer and a listener that never answers

/** Debian's pgbouncer binary, or null when it is not installed (the pooler tests then say they were skipped). */
export function findPgbouncer(): string | null {
  return findCommand('pgbouncer');
}

export interface PoolDatabase {
  name: string; // the database name clients ask PgBouncer for
  dbname: string; // the real database on the server
  poolMode: 'session' | 'transaction' | 'statement';
}

/** PgBouncer on 127.0.0.1:<free port> in front of host:port (trust auth, user postgres); null when not installed. */
export async function startPgbouncer(target: { host: string; port: number }, databases: PoolDatabase[]): Promise<{ port: number; stop(): Promise<void> } | null> {
  const bin = findPgbouncer();
  if (!bin) return null;
  const dir = await makeTempDir('pgbouncer');
  const port = await freePort();
  const lines = databases.map((d) => `${d.name} = host=${target.host} port=${target.port} dbname=${d.dbname} pool_mode=${d.poolMode}`);
  await writeFile(join(dir, 'users.txt'), '"postgres" ""\n');
  await writeFile(join(dir, 'pgbouncer.ini'), [
    '[databases]', ...lines, '[pgbouncer]', 'listen_addr = 127.0.0.1', `listen_port = ${port}`, 'unix_socket_dir =',
    'auth_type = trust', `auth_file = ${join(dir, 'users.txt')}`, `logfile = ${join(dir, 'pgbouncer.log')}`,
    'default_pool_size = 4', 'server_login_retry = 1', '',
  ].join('\n'));
  const runAs = postgresUser();
  if (runAs) for (const name of ['', 'users.txt', 'pgbouncer.ini']) await chown(join(dir, name), runAs.uid, runAs.gid);
  const child = spawn(bin, [join(dir, 'pgbouncer.ini')], { ...runAs, stdio: 'ignore' });
  pids.add(child.pid!);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    pids.delete(child.pid!);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  cleanups.add(stop);
  await waitForPort(port, 10_000, () => child.exitCode !== null).catch(async (error) => {
    await stop();
    throw new Error(`pgbouncer did not start: ${error.message}; ${await readFile(join(dir, 'pgbouncer.log'), 'utf8').catch(() => '')}`);
  });
  return { port, stop };
}

function waitForPort(port: number, timeoutMs: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (hasExited()) return reject(new Error('it exited'));
      const socket = new Socket();
      socket.once('connect', () => { socket.destroy(); resolve(); });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} not open after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
      socket.connect(port, '127.0.0.1');
    };
    attempt();
  });
}

/**
 * A TCP server on 127.0.0.1 that is not PostgreSQL: by default it accepts connections and never sends a byte (a
 * host that never answers); `answer` is written back instead, and the connection closed.
 */
export async function startFakeServer(answer?: string): Promise<{ port: number; connections(): number }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (answer !== undefined) socket.end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, connections: () => count };
}

// ---------------------------------------------------------------------------------------------------------------
// CLI runs: every byte they print is kept for the secrets scan

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliRun {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  done: Promise<CliResult>;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>; // added to an environment with NO_COLOR and without DATABASE_URL
  timeoutMs?: number; // SIGKILL after this (default 60 s); the test then sees signal SIGKILL
}

/**
 * Every password the robust tests hand the CLI contains this mark in each of its pieces (between @ : / %), so
 * secrets.test.ts finds any leak, whole or in part, by looking for the mark alone.
 */
export const SECRET_MARK = 'Rb5ecret';

export function secret(label: string): string {
  return `${SECRET_MARK}-${label}`;
}

/** The URL with this password (percent-encoded); trust auth ignores it, dbvc must still never show it. */
export function withPassword(url: string, password: string): string {
  const copy = new URL(url);
  if (copy.password) return url; // a TEST_DATABASE_URL that needs its own
  copy.password = encodeURIComponent(password);
  return copy.href;
}

/** Everything every CLI run printed (stdout, stderr) during this test process. */
export const transcript: { args: string[]; env: Record<string, string>; stdout: string; stderr: string }[] = [];

export function startCli(args: string[], options: CliOptions = {}): CliRun {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  if (!options.env?.DATABASE_URL) delete env.DATABASE_URL;
  delete env.FORCE_COLOR;
  delete env.NODE_EXTRA_CA_CERTS; // ~60 ms per start; the TLS tests name their CA explicitly
  const began = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  pids.add(child.pid!);
  const entry = { args, env: options.env ?? {}, stdout: '', stderr: '' };
  transcript.push(entry);
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (entry.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (entry.stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done.catch(() => undefined);
  };
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      pids.delete(child.pid!);
      cleanups.delete(kill);
      resolve({ code, signal, stdout: entry.stdout, stderr: entry.stderr, ms: performance.now() - began });
    });
  });
  cleanups.add(kill);
  return { child, output: () => ({ stdout: entry.stdout, stderr: entry.stderr }), done };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Resolves when `check` holds; false after timeoutMs. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return check();
}
