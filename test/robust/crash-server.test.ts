// Server gone: the server stops (immediate or fast shutdown) or ends dbvc's session mid-run. dbvc must say so
// clearly and exit non-zero, never carry on in a new session, and after a restart the next run completes with
// nothing lost or doubled. Also: the session that holds the lock is the one that runs every migration.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAfterScenario, checkConsistency } from '../helpers/consistency.js';
import type { Db } from '../../src/store.js';
import { makeTempDir, secret, SOAK, startCli, startServer, stopAll, waitFor, type CliResult, type TestServer } from '../helpers/servers.js';

const MIGRATIONS = 30;
const IMMEDIATE_TRIALS = SOAK ? 20 : 3;
const LOCK_CLASS = 1684174435; // "dbvc"
const LOCK_KEY = createHash('sha256').update('dbvc:public').digest().readInt32BE(0) & 0x7fffffff;
const PASSWORD = secret('gone'); // trust auth ignores it; the secrets scan looks for it

const test = suite<{ server: TestServer; dir: string; versions: string[]; admin: Db }>('robust: server gone');

test.before(async (context) => {
  context.server = await startServer();
  context.dir = await makeTempDir('gone');
  context.versions = [];
  for (let i = 1; i <= MIGRATIONS; i++) {
    const v = String(i).padStart(4, '0');
    context.versions.push(v);
    await writeFile(join(context.dir, `${v}_step.up.sql`), `CREATE TABLE m_${v} (id int);\nSELECT pg_sleep(0.02);\nINSERT INTO m_${v} VALUES (1);\n`);
    await writeFile(join(context.dir, `${v}_step.down.sql`), `DROP TABLE m_${v};\n`);
  }
});
test.after(stopAll);
test.after.each(async (context) => {
  await context.admin.end({ timeout: 1 }).catch(() => undefined);
});
test.before.each(async (context) => {
  await context.server.start(); // after a test that failed while it was stopped
  context.admin = context.server.admin();
  await context.admin.unsafe(`drop table if exists alembic_version, dbvc_history, pids, ${context.versions.map((v) => `m_${v}`).join(', ')}`);
});

const url = (server: TestServer) => server.url('postgres', { password: PASSWORD });
const upgrade = (server: TestServer, dir: string, env?: Record<string, string>) => startCli(['upgrade', '--url', url(server), '--dir', dir], { env });
const printedSteps = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('up ')).length;

function assertClearLoss(result: CliResult, server: TestServer, reason: RegExp, label: string): void {
  const said = `${label}: exit ${result.code} ${result.signal ?? ''}\n${result.stderr}`;
  assert.is(result.code, 5, said);
  assert.ok(result.stderr.includes(`error lost the connection to 127.0.0.1:${server.port}: `), said);
  assert.match(result.stderr, reason, said);
  assert.match(result.stderr, /^hint .*dbvc never reconnects mid-run.*run dbvc status once the server is back/m, said);
  assert.not.match(result.stderr, /internal error|TypeError|node_modules|at .*\.js:\d+/, said);
}

/** After a restart: nothing committed was lost, the state is consistent, and the next run finishes exactly once. */
async function assertRecovers(context: { server: TestServer; dir: string; versions: string[] }, printed: number, label: string): Promise<void> {
  const db = context.server.admin();
  try {
    assert.equal(await checkAfterScenario(db, { versions: context.versions, isUpOnly: true }), [], `${label}, after the restart`);
    const [row] = await db`select version_num from alembic_version`.catch(() => []);
    const applied = row ? context.versions.indexOf(row.version_num) + 1 : 0;
    assert.ok(applied >= printed, `${label}: ${printed} steps were reported, ${applied} are applied`);
    const next = await upgrade(context.server, context.dir).done;
    assert.is(next.code, 0, `${label}, the next run: ${next.stderr}`);
    assert.ok(next.stdout.includes(`local is now at ${context.versions[MIGRATIONS - 1]} (head) (${MIGRATIONS - applied} migration`), next.stdout.slice(-200));
    assert.equal(await checkConsistency(db, { versions: context.versions, isUpOnly: true }), [], `${label}, after the next run`);
    const [{ rows }] = await db.unsafe(`select (${context.versions.map((v) => `(select count(*) from m_${v})`).join(' + ')})::int as rows`);
    assert.is(rows, MIGRATIONS, `${label}: every insert ran once`);
  } finally {
    await db.end({ timeout: 1 });
  }
}

test(`an immediate shutdown mid-run (${IMMEDIATE_TRIALS} times): exit 5 with a clear message; after a restart nothing is lost or doubled`, async (context) => {
  for (let trial = 0; trial < IMMEDIATE_TRIALS; trial++) {
    if (trial > 0) await context.admin.unsafe(`drop table if exists alembic_version, dbvc_history, ${context.versions.map((v) => `m_${v}`).join(', ')}`);
    await context.admin.end({ timeout: 1 });
    const stopAfter = 1 + Math.floor(Math.random() * (MIGRATIONS - 10)); // pg_ctl takes a moment: leave it 10 steps
    const run = upgrade(context.server, context.dir);
    await waitFor(() => printedSteps(run.output().stdout) >= stopAfter || run.child.exitCode !== null, 30_000, 1);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
    await context.server.stop('immediate');
    const result = await run.done;
    const label = `trial ${trial + 1}, stopped after ${stopAfter} steps`;
    assert.ok(result.ms < 10_000, `${label}: took ${result.ms} ms`);
    assertClearLoss(result, context.server, /: the server closed the connection( \(ECONNRESET\))?\n/, label);
    await context.server.start();
    context.admin = context.server.admin();
    await assertRecovers(context, printedSteps(result.stdout), label);
  }
});

test('an immediate shutdown while dbvc waits for the lock: exit 5 with the same clear message', async (context) => {
  const holder = context.server.admin();
  await holder`select pg_advisory_lock(${LOCK_CLASS}, ${LOCK_KEY})`;
  await context.admin.end({ timeout: 1 });
  const run = upgrade(context.server, context.dir);
  const isWaiting = async () => {
    const [{ n }] = await holder`select count(*)::int as n from pg_stat_activity where application_name = 'dbvc upgrade' and query like '%pg_try_advisory_lock%'`;
    return n === 1;
  };
  assert.ok(await waitFor(isWaiting, 10_000), 'dbvc connected and polls for the lock');
  await context.server.stop('immediate');
  await holder.end({ timeout: 0 }).catch(() => undefined);
  const result = await run.done;
  assertClearLoss(result, context.server, /the server closed the connection/, 'waiting for the lock');
  assert.is(printedSteps(result.stdout), 0);
  await context.server.start();
  context.admin = context.server.admin();
  await assertRecovers(context, 0, 'waiting for the lock');
});

test('a fast shutdown mid-run: the message carries the server\'s reason', async (context) => {
  await context.admin.end({ timeout: 1 });
  const run = upgrade(context.server, context.dir);
  await waitFor(() => printedSteps(run.output().stdout) >= 3 || run.child.exitCode !== null, 30_000, 1);
  await context.server.stop('fast');
  const result = await run.done;
  assertClearLoss(result, context.server, /: terminating connection due to administrator command\n/, 'fast shutdown');
  await context.server.start();
  context.admin = context.server.admin();
  await assertRecovers(context, printedSteps(result.stdout), 'fast shutdown');
});

test('pg_terminate_backend of dbvc\'s session mid-run: exit 5, and no later migration runs in a new session', async (context) => {
  const run = upgrade(context.server, context.dir);
  await waitFor(() => printedSteps(run.output().stdout) >= 3 || run.child.exitCode !== null, 30_000, 1);
  await context.admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'dbvc upgrade'`;
  const [before] = await context.admin`select version_num from alembic_version`;
  const result = await run.done;
  assertClearLoss(result, context.server, /: terminating connection due to administrator command\n/, 'terminated');
  const [after] = await context.admin`select version_num from alembic_version`;
  assert.is(after.version_num, before.version_num, 'nothing ran after the session ended');
  await assertRecovers(context, printedSteps(result.stdout), 'terminated');
});

test('every migration runs in the session that holds the lock, even where postgres.js would recycle it (PGMAX_LIFETIME=1)', async (context) => {
  const dir = await makeTempDir('lifetime');
  await context.admin`create table pids (version text, pid int, holds_lock boolean)`;
  const record = (v: string) => `INSERT INTO pids SELECT '${v}', pg_backend_pid(), exists (select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and classid = ${LOCK_CLASS}::bigint::oid and objid = ${LOCK_KEY}::bigint::oid);\n`;
  for (let i = 1; i <= 6; i++) {
    const v = String(i).padStart(4, '0');
    await writeFile(join(dir, `${v}_step.up.sql`), `CREATE TABLE m_${v} (id int);\n${record(v)}SELECT pg_sleep(0.4);\n`);
    await writeFile(join(dir, `${v}_step.down.sql`), `DROP TABLE m_${v};\n`);
  }
  const result = await upgrade(context.server, dir, { PGMAX_LIFETIME: '1' }).done;
  assert.is(result.code, 0, result.stderr);
  const rows = await context.admin`select version, pid, holds_lock from pids order by version`;
  assert.is(rows.length, 6);
  assert.equal(rows.map((r) => r.holds_lock), [true, true, true, true, true, true], 'each migration ran while its session held the lock');
  assert.is(new Set(rows.map((r) => r.pid)).size, 1, `one session: ${rows.map((r) => r.pid).join(', ')}`);
});

test.run();
