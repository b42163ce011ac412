// The CLI on its own embedded PostgreSQL (DATABASE_URL=embedded), as a fresh clone uses it: a project folder from
// mktemp -d (mode 0700, which the postgres OS user cannot enter when we are root), and two commands at once.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sharedDataDir } from '../src/embedded-place.js';
import postgres from 'postgres';
import { lines, removeTemps, run, start, tempDir } from './helpers/cli.js';
import { findCommand, reportSkipped } from './helpers/common.js';

const isRoot = process.getuid?.() === 0;
const clusters: string[] = [];

/** A project folder holding envs/local.env (embedded) and sql/local/ with the given up files (downs drop them). */
async function project(ups: Record<string, string>): Promise<{ dir: string; cluster: string }> {
  const dir = await tempDir();
  await mkdir(join(dir, 'envs'));
  await mkdir(join(dir, 'sql', 'local'), { recursive: true });
  await writeFile(join(dir, 'envs', 'local.env'), 'DATABASE_URL=embedded\n');
  for (const [stem, sql] of Object.entries(ups)) {
    await writeFile(join(dir, 'sql', 'local', `${stem}.up.sql`), sql);
    await writeFile(join(dir, 'sql', 'local', `${stem}.down.sql`), `DROP TABLE ${stem.replace(/^\d+_/, '')};\n`);
  }
  const cluster = isRoot ? sharedDataDir(join(dir, '.dbvc', 'local')) : join(dir, '.dbvc', 'local');
  clusters.push(cluster);
  return { dir, cluster };
}

async function isServerRunning(cluster: string): Promise<boolean> {
  const text = await readFile(join(cluster, 'pgdata', 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const embedded = suite('cli on the embedded server');
embedded.after(async () => {
  await removeTemps();
  await Promise.all(clusters.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

embedded('upgrade works in a folder from mktemp -d (as root: the cluster goes to /var/lib/dbvc; no folder changes mode)', async () => {
  const { dir, cluster } = await project({ '0001_t1': 'CREATE TABLE t1 (id int);\n' });
  const mode = (await stat(dir)).mode & 0o777;
  assert.is(mode, 0o700);
  const { code, stdout, stderr } = await run(['upgrade'], { cwd: dir, timeoutMs: 60_000 });
  assert.is(code, 0, stderr);
  assert.is(lines(stdout).at(-1), 'local is now at 0001 (head) (1 migration applied)');
  const shown = isRoot ? cluster : '.dbvc/local';
  assert.ok(stderr.includes(`target local: embedded PostgreSQL (${shown}) (URL from envs/local.env), schema public\n`), stderr);
  assert.is((await stat(dir)).mode & 0o777, 0o700);
  if (isRoot) assert.not.ok(existsSync(join(dir, '.dbvc')), 'nothing the postgres user would need is written into the project');
  assert.ok(existsSync(join(cluster, 'pgdata', 'PG_VERSION')));
  assert.not.ok(await isServerRunning(cluster), 'the server is stopped when the command ends');

  const again = await run(['current'], { cwd: dir, timeoutMs: 60_000 });
  assert.is(again.code, 0, again.stderr);
  assert.is(again.stdout, '0001 (head)\n', 'the second command finds the same cluster');
});

embedded('two commands at once share the server: the second waits for the lock, and the last one out stops it', async () => {
  const { dir, cluster } = await project({ '0001_slow': 'CREATE TABLE slow (id int);\nSELECT pg_sleep(4);\n' });
  const first = start(['upgrade'], { cwd: dir, timeoutMs: 60_000 });
  const began = Date.now();
  while (!(await isServerRunning(cluster)) && Date.now() - began < 30_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000));
  const second = await run(['downgrade', '-1'], { cwd: dir, timeoutMs: 60_000 });
  const upgraded = await first.done;
  assert.is(upgraded.code, 0, upgraded.stderr);
  assert.is(lines(upgraded.stdout).at(-1), 'local is now at 0001 (head) (1 migration applied)');
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /using the embedded PostgreSQL that process \d+ also uses/);
  assert.is(lines(second.stdout).at(-1), 'local is now at base (1 migration reverted)');
  assert.not.ok(await isServerRunning(cluster), 'the last command stopped the server');
  assert.equal(await readdir(join(cluster, 'users')), []);
});

embedded('psql starts the embedded server, runs psql on it with the arguments after --, and stops the server after', async () => {
  const { dir, cluster } = await project({ '0001_t1': 'CREATE TABLE t1 (id int);\n' });
  assert.is((await run(['upgrade'], { cwd: dir, timeoutMs: 60_000 })).code, 0);
  if (!findCommand('psql')) return reportSkipped(1, 'the dbvc psql test with psql in test/cli-embedded.test.ts: psql is not installed');
  const { code, stdout, stderr } = await run(['psql', '--', '-At', '-c', 'select version_num from alembic_version'], { cwd: dir, timeoutMs: 60_000 });
  assert.is(code, 0, stderr);
  assert.is(stdout, '0001\n');
  const failed = await run(['psql', '--', '-c', 'select nope'], { cwd: dir, timeoutMs: 60_000 });
  assert.is(failed.code, 1, 'psql\'s own exit code');
  assert.not.ok(await isServerRunning(cluster));
});

embedded('psql without psql installed prints a URL for another client and keeps the server until Ctrl-C', async () => {
  const { dir, cluster } = await project({ '0001_t1': 'CREATE TABLE t1 (id int);\n' });
  const bin = join(dir, 'bin'); // a PATH with what the embedded server needs as root (id, useradd), and no psql
  await mkdir(bin);
  for (const tool of ['id', 'groupadd', 'useradd']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) await symlink(found, join(bin, tool));
  }
  const running = start(['psql'], { cwd: dir, env: { PATH: bin }, timeoutMs: 60_000 });
  const began = Date.now();
  while (!running.output().stdout.includes('\n') && Date.now() - began < 30_000) await new Promise((r) => setTimeout(r, 50));
  const url = new URL(running.output().stdout.trim());
  const sql = postgres({ host: url.searchParams.get('host')!, port: Number(url.searchParams.get('port')), database: 'postgres', username: 'postgres', max: 1, onnotice: () => {} });
  try {
    const [{ answer }] = await sql`select 42 as answer`;
    assert.is(answer, 42);
  } finally {
    await sql.end();
  }
  running.child.kill('SIGINT');
  const { code, stderr } = await running.done;
  assert.is(code, 0, stderr);
  assert.match(stderr, /^psql is not installed \(apt-get install postgresql-client\); connect with another client:$/m);
  assert.not.ok(await isServerRunning(cluster));
});

embedded.run();
