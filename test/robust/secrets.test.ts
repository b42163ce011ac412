// Secrets: every password the robust tests gave the CLI carries SECRET_MARK in each of its pieces. This file runs
// the CLI through the paths where a password could slip out (JSON output, env files, the environment, failures,
// lock timeouts, internal errors with stacks), then scans everything every CLI run in this test process printed.
// It sorts last in test/robust, so in a full run it also covers the other files' runs.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDatabase, fixture, type TestDatabase } from '../helpers/db.js';
import { makeTempDir, SECRET_MARK, secret, startCli, startServer, stopAll, transcript, withPassword, type TestServer } from '../helpers/servers.js';

const FIXTURE = fixture('robust-deploy');
const PASSWORD = secret('scan');
const SPECIAL = `${secret('p')}@${secret('q')}:${secret('r')}/${secret('s')}%${secret('t')}`;
const LOCK_CLASS = 1684174435;
const LOCK_KEY = createHash('sha256').update('dbvc:public').digest().readInt32BE(0) & 0x7fffffff;

const test = suite<{ t: TestDatabase; server: TestServer; url: string; project: string }>('robust: secrets');

test.before(async (context) => {
  context.t = await createDatabase();
  context.url = withPassword(context.t.url, SPECIAL);
  context.server = await startServer({ hba: ['local all all trust', 'host all all 127.0.0.1/32 scram-sha-256'] });
  const admin = context.server.admin();
  await admin.unsafe(`create role app login password '${PASSWORD}'`);
  await admin.end();
  context.project = await makeTempDir('secrets');
  await mkdir(join(context.project, 'envs'));
  await cp(FIXTURE, join(context.project, 'sql', 'scan'), { recursive: true });
  await writeFile(join(context.project, 'envs', 'scan.env'), `DATABASE_URL='${context.url}'\n`);
});
test.after(async (context) => {
  await context.t?.drop();
  await stopAll();
});

const run = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) => startCli(args, { timeoutMs: 30_000, ...options }).done;
let emptyDir: string | undefined;
/** DATABASE_URL from the environment counts only where no envs/local.env says otherwise (the repository's does). */
const fromEnvironment = async (url: string) => ({ cwd: (emptyDir ??= await makeTempDir('secrets-env')), env: { DATABASE_URL: url } });

test('read-only commands with --json, the URL from --url, an env file and DATABASE_URL', async ({ url, project }) => {
  for (const args of [['status', '--json'], ['current', '--json'], ['history', '--json'], ['status']]) {
    for (const result of [
      await run([...args, '--url', url, '--dir', FIXTURE]),
      await run([...args, '--db', 'scan'], { cwd: project }),
      await run([...args, '--dir', FIXTURE], await fromEnvironment(url)),
    ]) {
      assert.is(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
  }
});

test('upgrade, a failing migration, a lock timeout, and the offline script', async ({ t, url }) => {
  assert.is((await run(['upgrade', '0003', '--url', url, '--dir', FIXTURE])).code, 0);
  const failing = await makeTempDir('secrets-failing');
  await cp(FIXTURE, failing, { recursive: true });
  await writeFile(join(failing, '0004_index.up.sql'), 'SELECT 1 / 0;\n');
  const failed = await run(['upgrade', '--url', url, '--dir', failing]);
  assert.is(failed.code, 1, failed.stderr);
  await t.db`select pg_advisory_lock(${LOCK_CLASS}, ${LOCK_KEY})`;
  try {
    const locked = await run(['upgrade', '--url', url, '--dir', FIXTURE, '--lock-timeout', '200ms']);
    assert.is(locked.code, 4, locked.stderr);
  } finally {
    await t.db`select pg_advisory_unlock(${LOCK_CLASS}, ${LOCK_KEY})`;
  }
  assert.is((await run(['upgrade', '--sql', '--url', url, '--dir', FIXTURE])).code, 0);
  assert.is((await run(['downgrade', 'base', '--url', url, '--dir', FIXTURE])).code, 0);
});

test('connection and configuration failures: wrong password, PGPASSWORD, malformed URLs, an internal error', async ({ server }) => {
  const wrong = server.url('postgres', { user: 'app', password: SPECIAL });
  assert.is((await run(['status', '--url', wrong, '--dir', FIXTURE])).code, 5);
  assert.is((await run(['status', '--url', server.url('postgres', { user: 'app' }), '--dir', FIXTURE], { env: { PGPASSWORD: SPECIAL } })).code, 5);
  const malformed = [
    `postgres://app:${PASSWORD} space@127.0.0.1/db`, `postgres://app:${PASSWORD}@127.0.0.1:notaport/db`,
    `postgres://app:${PASSWORD}%zz@127.0.0.1/db`, `postgres://app:${PASSWORD}@127.0.0.1/db#${PASSWORD}`,
    `postgres://app:${PASSWORD}@127.0.0.1/db?password=${PASSWORD}`, `mysql://app:${PASSWORD}@127.0.0.1/db`,
  ];
  for (const url of malformed) {
    for (const result of [await run(['status', '--url', url, '--dir', FIXTURE]), await run(['status', '--dir', FIXTURE], await fromEnvironment(url))]) {
      assert.ok(result.code === 2 || result.code === 5, `${url}: exit ${result.code}: ${result.stderr}`);
    }
  }
  // an internal error prints its stack; it must not carry the URL either
  const internal = await run(['status', '--lock-timeout', '30', '--url', server.url('postgres', { user: 'app', password: PASSWORD }), '--dir', FIXTURE]);
  assert.ok(internal.code === 0 || internal.code === 70, internal.stderr);
});

test('the scan: nothing any CLI run printed (stdout, stderr, --json, stacks) holds a password or a piece of one', async () => {
  const withSecrets = transcript.filter((r) => [...r.args, ...Object.values(r.env)].some((a) => a.includes(SECRET_MARK)));
  assert.ok(withSecrets.length >= 25, `${withSecrets.length} runs were given a marked password`);
  const leaks = transcript.flatMap((r) => ['stdout', 'stderr'].flatMap((stream) => {
    const text = r[stream as 'stdout' | 'stderr'];
    const at = text.indexOf(SECRET_MARK);
    return at === -1 ? [] : [`${r.args.join(' ')}\n  ${stream}: …${text.slice(Math.max(0, at - 80), at + 40)}…`];
  }));
  assert.equal(leaks, [], `${leaks.length} of ${transcript.length} runs printed a secret:\n${leaks.slice(0, 5).join('\n')}`);
  console.log(`  secrets: scanned ${transcript.length} CLI runs (${withSecrets.length} given a password in arguments or environment): no leak`);
});

test.run();
