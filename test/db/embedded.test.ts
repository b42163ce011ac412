import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startEmbedded, type EmbeddedServer } from '../../src/embedded.js';
import { sharedDataDir } from '../../src/embedded-place.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const moduleFile = fileURLToPath(new URL('../../src/embedded.ts', import.meta.url));
let root = '';
let dataDir = '';
let orphanMaker: ChildProcess | undefined;

function recorder() {
  const lines: string[] = [];
  return { lines, log: (line: string) => void lines.push(line) };
}

async function selectVersion(server: EmbeddedServer): Promise<string> {
  const { socketDir: host, port, user, database } = server;
  const sql = postgres({ host, port, user, database, max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ version: string }[]>`select version()`;
    return row.version;
  } finally {
    await sql.end();
  }
}

function postmasterPid(dir: string): number {
  return Number(execFileSync('head', ['-1', path.join(dir, 'pgdata', 'postmaster.pid')], { encoding: 'utf8' }));
}

function runningUnder(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', dir], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return [];
  }
}

// Starts the server from another node process, as a CLI run would, and leaves it running there.
async function startInChild(dir: string): Promise<ChildProcess> {
  const script = path.join(root, 'hold.mts');
  await fs.writeFile(script, `import { startEmbedded } from ${JSON.stringify(moduleFile)};
await startEmbedded(process.argv[2], () => {});
console.log('ready');
setInterval(() => {}, 60_000);
`);
  const args = ['--import', 'tsx', script, dir];
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit').then(() => { throw new Error(`child exited before ready: ${output}`); });
  const ready = (async () => { while (!output.includes('ready')) await new Promise((r) => setTimeout(r, 20)); })();
  await Promise.race([ready, exited]);
  return child;
}

test.before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'embedded-test-'));
  await fs.chmod(root, 0o711); // the postgres OS user must be able to pass through when we are root
  dataDir = path.join(root, 'local');
});

test.after(async () => {
  orphanMaker?.kill('SIGKILL');
  for (const pid of runningUnder(root)) if (pid) process.kill(Number(pid), 'SIGKILL');
  await fs.rm(root, { recursive: true, force: true });
});

test('start on a fresh directory initialises and starts PostgreSQL 17', async () => {
  const { lines, log } = recorder();
  const server = await startEmbedded(dataDir, log);
  assert.is(server.isReused, false);
  assert.is(server.socketDir, dataDir);
  assert.is(server.port, 5432);
  assert.match(lines[0], /^initialised embedded PostgreSQL 17 in .+ \(.+\)$/);
  assert.match(await selectVersion(server), /^PostgreSQL 17\./);
  await server.stop();
  await server.stop();
  assert.not.ok(existsSync(path.join(dataDir, 'pgdata', 'postmaster.pid')));
  assert.equal(await fs.readdir(path.join(dataDir, 'users')), []);
});

test('a second start reuses the initialised cluster', async () => {
  const { lines, log } = recorder();
  const server = await startEmbedded(dataDir, log);
  assert.equal(lines.filter((line) => line.startsWith('initialised')), []);
  assert.match(lines[0], /^started embedded PostgreSQL in /);
  assert.match(await selectVersion(server), /^PostgreSQL 17\./);
  await server.stop();
});

test('attaches to a live owner, then recovers the server a killed owner left running', async () => {
  orphanMaker = await startInChild(dataDir);
  const ownerPid = orphanMaker.pid!;
  const first = recorder();
  const attached = await startEmbedded(dataDir, first.log);
  assert.is(attached.isReused, true);
  assert.equal(first.lines, [`using the embedded PostgreSQL that process ${ownerPid} also uses`]);
  await attached.stop();
  assert.match(await selectVersion(attached), /^PostgreSQL 17\./);

  const orphan = postmasterPid(dataDir);
  orphanMaker.kill('SIGKILL');
  await once(orphanMaker, 'exit');
  const second = recorder();
  const server = await startEmbedded(dataDir, second.log);
  assert.is(server.isReused, false);
  const recovered = `recovered an embedded server left running by process ${ownerPid}`;
  assert.ok(second.lines.includes(recovered), second.lines.join('\n'));
  assert.is.not(postmasterPid(dataDir), orphan);
  assert.match(await selectVersion(server), /^PostgreSQL 17\./);
  await server.stop();
});

test('a start the server refuses rejects with the server\'s own complaint', async () => {
  const broken = path.join(root, 'broken');
  execFileSync('cp', ['-a', dataDir, broken]);
  await fs.appendFile(path.join(broken, 'pgdata', 'postgresql.conf'), 'this is not valid\n');
  const error = await startEmbedded(broken, () => {}).then(() => undefined, (e: unknown) => e);
  assert.instance(error, Error);
  const { message } = error as Error;
  assert.match(message, /exited during start-up/);
  assert.match(message, /syntax error in file ".+postgresql\.conf" line \d+/);
  assert.not.ok(existsSync(path.join(broken, 'pgdata', 'postmaster.pid')));
});

test('starts after a crash, and over a postmaster.pid whose pid now belongs to another process', async () => {
  const server = await startEmbedded(dataDir, () => {});
  process.kill(postmasterPid(dataDir), 'SIGKILL');
  const afterCrash = await startEmbedded(dataDir, () => {});
  assert.match(await selectVersion(afterCrash), /^PostgreSQL 17\./);
  await afterCrash.stop();
  await server.stop();

  const pidFile = path.join(dataDir, 'pgdata', 'postmaster.pid');
  const reused = [process.pid, path.join(dataDir, 'pgdata'), 0, 5432, dataDir, '', '0 0', 'ready   '];
  await fs.writeFile(pidFile, reused.join('\n') + '\n');
  const afterReuse = await startEmbedded(dataDir, () => {});
  assert.match(await selectVersion(afterReuse), /^PostgreSQL 17\./);
  await afterReuse.stop();
});

test('a data directory too deep for a socket path gets a short socket directory', async () => {
  const deep = path.join(root, 'd'.repeat(60), 'e'.repeat(40));
  const server = await startEmbedded(deep, () => {});
  assert.ok(server.socketDir.startsWith(path.join(os.tmpdir(), 'dbvc-socket-')), server.socketDir);
  assert.match(await selectVersion(server), /^PostgreSQL 17\./);
  await server.stop();
  assert.not.ok(existsSync(server.socketDir));
});

test('as root, a folder the postgres OS user cannot enter gets its cluster under /var/lib/dbvc, and stays as it was', async () => {
  if (process.getuid?.() !== 0) return;
  const closed = path.join(root, 'closed');
  await fs.mkdir(closed, { mode: 0o700 });
  const wanted = path.join(closed, '.dbvc', 'local');
  const shared = sharedDataDir(wanted);
  try {
    const { lines, log } = recorder();
    const server = await startEmbedded(wanted, log);
    assert.is(server.dataDir, shared);
    assert.match(shared, /^\/var\/lib\/dbvc\/closed-local-[0-9a-f]{10}$/);
    assert.ok(lines.some((line) => line.startsWith(`initialised embedded PostgreSQL 17 in ${shared} `)), lines.join('\n'));
    assert.match(await selectVersion(server), /^PostgreSQL 17\./);
    assert.is(await fs.readFile(path.join(shared, 'origin'), 'utf8'), `${wanted}\n`);
    await server.stop();
    assert.is((await fs.stat(closed)).mode & 0o777, 0o700);
    assert.not.ok(existsSync(wanted), 'nothing is written into the folder the postgres user cannot enter');
    const again = await startEmbedded(wanted, () => {});
    assert.is(again.dataDir, shared);
    await again.stop();
  } finally {
    await fs.rm(shared, { recursive: true, force: true });
  }
});

test('leaves no PostgreSQL running', () => {
  assert.equal(runningUnder(root), []);
});

test.run();
