// Issue 16 through the built CLI: the matrix on stdout, prefixed progress on stderr, exit codes, JSON rows, and
// URL lists whose passwords are never printed. Build first: make build.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedDataDir } from '../../src/embedded.js';
import { checkAfterScenario, versionsIn } from '../helpers/consistency.js';
import { fixture, serverUrl } from '../helpers/db.js';
import { createFleet, type TestFleet } from '../helpers/fleet.js';
import { runCli, secret, SECRET_MARK, startCli, stopAll, waitFor, withPassword } from '../helpers/servers.js';

const test = suite<{ fleet: TestFleet }>('fleet cli');

test.before(async (context) => {
  context.fleet = await createFleet({ alpha: 3, beta: 2 }, undefined, (url) => withPassword(url, secret('fleet')));
});
test.after(async ({ fleet }) => {
  await stopAll();
  await fleet?.drop();
});
test.before.each(async ({ fleet }) => fleet.reset());

const dbvc = (fleet: TestFleet, args: string[]) => runCli([...args, '--lock-timeout', '20s'], { cwd: fleet.root });

function matrixLine(stdout: string, name: string): string {
  return stdout.split('\n').find((line) => line.includes(`/${name} `)) ?? `(no line for ${name} in:\n${stdout})`;
}

function assertNoSecret(result: { stdout: string; stderr: string }): void {
  assert.not.match(result.stdout + result.stderr, SECRET_MARK);
}

test('status of a target whose env file lists its databases prints the matrix; progress lines name the database; no password', async ({ fleet }) => {
  const result = await dbvc(fleet, ['status', '--db', 'alpha']);
  assert.is(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^TARGET\s+DATABASE\s+CURRENT\s+HEAD\s+PENDING\s+PROBLEMS\s+LAST APPLIED\s+NOTE$/);
  for (const d of fleet.targets[0].databases) assert.match(matrixLine(result.stdout, d.name), /^alpha\s+\S+\s+base\s+0003\s+3\s+0\s+-$/);
  assert.is(lines.at(-1), '3 databases: 3 behind (9 pending)');
  assert.match(result.stderr, /^fleet: 3 databases in alpha \(3\); 4 at once$/m);
  for (const d of fleet.targets[0].databases) assert.match(result.stderr, new RegExp(`^alpha \\S+/${d.name} target alpha: postgres://postgres:\\*\\*\\*@`, 'm'));
  assertNoSecret(result);
});

test('upgrade --all: the poisoned database fails alone and is named in the matrix; exit 1; --json and --exit-code after', async ({ fleet }) => {
  const poisoned = fleet.targets[1].databases[1];
  await poisoned.db`create table m_0002 (id int)`;
  const result = await dbvc(fleet, ['upgrade', '--all', '--keep-going', '--parallel', '2']);
  assert.is(result.code, 1, result.stdout + result.stderr);
  assert.match(matrixLine(result.stdout, poisoned.name), /^beta\s+\S+\s+failed \(sql\)\s+0001\s+0003\s+2\s+.*"m_0002" already exists/);
  for (const d of fleet.all.filter((x) => x !== poisoned)) assert.match(matrixLine(result.stdout, d.name), /applied 3 \(base -> 0003\)\s+0003\s+0003\s+0$/);
  assert.match(result.stdout, /^5 databases: 4 moved \(12 migrations\), 1 failed$/m);
  assert.match(result.stderr, new RegExp(`^beta \\S+/${poisoned.name} error `, 'm'));
  assert.match(result.stderr, new RegExp(`^beta \\S+/${poisoned.name} up   0001_m1  base -> 0001 \\(\\d+ ms\\)$`, 'm'));
  assertNoSecret(result);
  const json = await dbvc(fleet, ['status', '--all', '--json']);
  assert.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout);
  assert.equal(rows.map((r: { target: string; current: string; pending: number }) => [r.target, r.current, r.pending]),
    [['alpha', '0003', 0], ['alpha', '0003', 0], ['alpha', '0003', 0], ['beta', '0003', 0], ['beta', '0003', 0]].map((r, i) => (rows[i].database.endsWith(`/${poisoned.name}`) ? ['beta', '0001', 2] : r)));
  const gate = await dbvc(fleet, ['status', '--all', '--exit-code']);
  assert.is(gate.code, 3);
  assertNoSecret(json);
});

test('exit codes: usage 2 for a bad --parallel, connect 5 for an unreachable list, sql 1 outranks connect', async ({ fleet }) => {
  const usage = await dbvc(fleet, ['status', '--all', '--parallel', '0']);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /error --parallel "0" is not a whole number from 1/);
  await writeFile(join(fleet.root, 'envs', 'down.urls'), `postgres://u:${secret('down')}@127.0.0.1:1/nowhere\n`);
  const connect = await dbvc(fleet, ['upgrade', '--db', 'alpha', '--urls-file', 'envs/down.urls']);
  assert.is(connect.code, 5, connect.stderr);
  assert.match(connect.stdout, /^alpha\s+127\.0\.0\.1:1\/nowhere\s+failed \(connect\)\s+\?\s+0003\s+\?\s+nothing is listening on 127\.0\.0\.1:1/m);
  assertNoSecret(connect);
  const urls = [fleet.targets[0].databases[0].url, 'postgres://u:x@127.0.0.1:1/nowhere'].map((u) => withPassword(u, secret('mixed')));
  await writeFile(join(fleet.root, 'envs', 'mixed.urls'), urls.join('\n'));
  await fleet.targets[0].databases[0].db`create table m_0001 (id int)`;
  const mixed = await dbvc(fleet, ['upgrade', '--db', 'alpha', '--urls-file', 'envs/mixed.urls', '--keep-going']);
  assert.is(mixed.code, 1, mixed.stdout);
  assertNoSecret(mixed);
});

test('Ctrl-C: every run in flight rolls back, exit 130, and the matrix says where each database stands', async ({ fleet }) => {
  await writeFile(join(fleet.root, 'sql', 'alpha', '0002_m2.up.sql'), 'CREATE TABLE m_0002 (id int PRIMARY KEY);\nSELECT pg_sleep(30);\n');
  const run = startCli(['upgrade', '--db', 'alpha', '--parallel', '2'], { cwd: fleet.root });
  const probe = fleet.all[0].db;
  const sleeping = () => probe`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid() and datname = any(${fleet.all.map((d) => d.name)})`.then(([r]) => r.n >= 2);
  assert.ok(await waitFor(sleeping, 20_000), run.output().stderr);
  run.child.kill('SIGINT');
  const result = await run.done;
  assert.is(result.code, 130, result.stderr);
  const interrupted = result.stdout.split('\n').filter((l) => /\sinterrupted\s+0001\s+0003\s+2\s/.test(l));
  assert.is(interrupted.length, 2, result.stdout);
  assert.match(result.stdout, /^3 databases: 2 interrupted, 1 not started$/m);
  for (const d of fleet.targets[0].databases) {
    const [{ present }] = await d.db`select to_regclass('public.m_0002') is not null as present`;
    assert.is(present, false, d.name);
  }
  await writeFile(join(fleet.root, 'sql', 'alpha', '0002_m2.up.sql'), 'CREATE TABLE m_0002 (id int PRIMARY KEY);\nINSERT INTO m_0002 VALUES (2);\n');
});

test('a SIGKILL of the fleet run leaves every database consistent, with no lock left behind', async ({ fleet }) => {
  await writeFile(join(fleet.root, 'sql', 'beta', '0002_m2.up.sql'), 'CREATE TABLE m_0002 (id int PRIMARY KEY);\nSELECT pg_sleep(30);\n');
  try {
    const run = startCli(['upgrade', '--all', '--parallel', '5'], { cwd: fleet.root });
    const probe = fleet.all[0].db;
    const sleeping = () => probe`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid() and datname = any(${fleet.all.map((d) => d.name)})`.then(([r]) => r.n >= 2);
    assert.ok(await waitFor(sleeping, 20_000), run.output().stderr);
    run.child.kill('SIGKILL');
    assert.is((await run.done).signal, 'SIGKILL');
    for (const d of fleet.all) assert.equal(await checkAfterScenario(d.db, { versions: await versionsIn(fixture('fleet')), isUpOnly: true }), [], d.name);
    const [{ at }] = await fleet.targets[1].databases[0].db`select version_num as at from alembic_version`;
    assert.is(at, '0001');
  } finally {
    await writeFile(join(fleet.root, 'sql', 'beta', '0002_m2.up.sql'), 'CREATE TABLE m_0002 (id int PRIMARY KEY);\nINSERT INTO m_0002 VALUES (2);\n');
  }
});

test('a command that works on one database refuses a target that lists many, and says how to pick one', async ({ fleet }) => {
  const result = await dbvc(fleet, ['history', '--db', 'alpha']);
  assert.is(result.code, 2);
  assert.match(result.stderr, /error target alpha is a list of databases \(envs\/alpha\.urls\); this command works on one database\nhint pass --url/);
});

test('current over a fleet prints the matrix; --json the same rows', async ({ fleet }) => {
  await dbvc(fleet, ['upgrade', '--db', 'beta']);
  const result = await dbvc(fleet, ['current', '--db', 'alpha,beta', '--json']);
  assert.is(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).map((r: { target: string; current: string | null }) => [r.target, r.current]), [['alpha', null], ['alpha', null], ['alpha', null], ['beta', '0003'], ['beta', '0003']]);
});

test('review, drift and check over a fleet: details, then the matrix; the worst exit code; one embedded scratch server for the run', async ({ fleet }) => {
  await dbvc(fleet, ['upgrade', '--db', 'beta']);
  const review = await dbvc(fleet, ['review', '--all']);
  await rm(await embeddedDataDir(join(fleet.root, '.dbvc', 'scratch')), { recursive: true, force: true }); // as root, under /var/lib/dbvc
  assert.is(review.code, 0, review.stderr);
  assert.is(review.stderr.match(/started embedded PostgreSQL in /g)?.length, 1, review.stderr);
  assert.match(review.stdout, /^alpha, for 3 databases \(\S+, \S+, \S+\):\n/m);
  assert.match(review.stdout, /^review base -> 0003: ok \(3 migrations, scratch PostgreSQL \S+ \(embedded\)\)$/m);
  for (const d of fleet.targets[0].databases) assert.match(matrixLine(review.stdout, d.name), /^alpha\s+\S+\s+base\s+base -> 0003\s+ok\s+\d+$/);
  for (const d of fleet.targets[1].databases) assert.match(matrixLine(review.stdout, d.name), /^beta\s+\S+\s+0003\s+-\s+at head\s+-$/);
  assert.match(review.stdout, /^5 databases: 3 ok, 2 at head \(nothing to review\); 1 rehearsal$/m);
  assertNoSecret(review);
  const changed = fleet.targets[1].databases[1];
  await changed.db`create index by_hand on m_0001 (id)`;
  const drift = await dbvc(fleet, ['drift', '--all', '--scratch-url', serverUrl()]);
  assert.is(drift.code, 3, drift.stderr);
  assert.match(drift.stdout, new RegExp(`^beta \\S+/${changed.name}: beta has index public\\.by_hand, which the migrations up to 0003 do not make$`, 'm'));
  assert.match(matrixLine(drift.stdout, changed.name), /^beta\s+\S+\s+0003\s+drift \(1\)\s+beta has index public\.by_hand/);
  assert.match(drift.stdout, /^5 databases: 4 without drift, 1 drifted$/m);
  assertNoSecret(drift);
  const check = await runCli(['check', '--db', 'alpha,beta', '--json', '--scratch-url', serverUrl()], { cwd: fleet.root });
  assert.is(check.code, 2, check.stderr);
  assert.equal(JSON.parse(check.stdout).map((r: { target: string; database: string; error: { code: string } }) => [r.target, r.database, r.error.code]), [['alpha', '-', 'file'], ['beta', '-', 'file']]);
  assert.match(check.stderr, /^alpha error sql\/alpha\/schema\.sql does not exist, so there is nothing to check$/m);
  const page = await dbvc(fleet, ['review', '--db', 'alpha', '--html', 'review.html']);
  assert.is(page.code, 2);
  assert.match(page.stderr, /^error --html writes the review of one target, and this is a fleet run$/m);
});

test.run();
