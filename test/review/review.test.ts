// dbvc review against the suite's server as --scratch-url: the fixtures' known answers, statement by statement.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { lintFiles } from '../../src/review/lint.js';
import { keepTemplate } from '../../src/review/template.js';
import { templateName } from '../../src/review/scratch.js';
import { loadMigrations } from '../../src/fs.js';
import type { MigrationReview, TracedStatement } from '../../src/core/review.js';
import { runScript, snapshotLedger, snapshotSchema } from '../helpers/catalog.js';
import { capture, configFor, connect, copyFixture, createDatabase, fixture, rejection, ROOT, serverUrl } from '../helpers/db.js';

const test = suite('review');

const LOCKS = fixture('review-locks');
const DOWNS = fixture('review-downs');

async function reviewRange(dir: string, range: string, failOn: 'error' | 'warning' | 'note' = 'error') {
  const config = configFor('postgres://unused@localhost/unused', dir);
  return api.review(config, { range, scratchUrl: serverUrl(), failOn, report: capture() });
}

/** The rehearsal databases (not templates, spares or builds) on the server, less those in `before`. */
async function scratchDatabases(admin: ReturnType<typeof connect>, before: string[] = []): Promise<string[]> {
  const rows = await admin`select datname from pg_database where datname ~ '^dbvc_scratch_[0-9a-z]{9}_[0-9a-f]{12}$' order by datname`;
  return rows.map((r) => r.datname as string).filter((name) => !before.includes(name));
}

const modes = (s: TracedStatement, relation: string) => s.locks.filter((l) => l.relation === relation).map((l) => l.mode);
const only = (migrations: MigrationReview[], version: string) => migrations.find((m) => m.version === version)!;

test('locks and rewrites of each statement, as the catalogs saw them', async () => {
  const { report, exitCode } = await reviewRange(LOCKS, '0001:head');
  assert.equal(report.migrations.map((m) => m.version), ['0002', '0003', '0004', '0005', '0006']);
  const [index] = only(report.migrations, '0002').up.statements;
  assert.ok(modes(index, 'public.product').includes('ShareLock'), 'CREATE INDEX takes ShareLock');
  assert.not.ok(modes(index, 'public.product').includes('AccessExclusiveLock'));
  assert.equal(index.rewrites, []);

  const [volatile, constant, bigint, text] = only(report.migrations, '0003').up.statements;
  assert.ok(modes(volatile, 'public.product').includes('AccessExclusiveLock'));
  assert.ok(volatile.rewrites.includes('public.product'), 'a volatile default rewrites the table');
  assert.equal(constant.rewrites, [], 'a constant default rewrites nothing');
  assert.ok(bigint.rewrites.includes('public.product'), 'int to bigint rewrites the table');
  assert.equal(text.rewrites, [], 'varchar(20) to text rewrites nothing');
  assert.is(text.line, 4);

  const [foreignKey, validate] = only(report.migrations, '0004').up.statements;
  assert.ok(modes(foreignKey, 'public.orders').includes('ShareRowExclusiveLock'));
  assert.ok(modes(foreignKey, 'public.product').includes('ShareRowExclusiveLock'));
  assert.ok(modes(validate, 'public.orders').includes('ShareUpdateExclusiveLock'));
  assert.not.ok(modes(validate, 'public.orders').includes('AccessExclusiveLock'));

  const concurrent = only(report.migrations, '0005');
  assert.is(concurrent.transaction, false);
  assert.is(concurrent.up.statements[0].line, 2);
  const [build] = concurrent.up.statements;
  assert.equal(modes(build, 'public.orders'), ['ShareUpdateExclusiveLock'], 'observed while it waited, and no ShareLock');
  assert.is(build.locks_observed, undefined);
  assert.equal(modes(concurrent.down.statements[0], 'public.orders'), ['ShareUpdateExclusiveLock'], 'DROP INDEX CONCURRENTLY');

  const [vacuum] = only(report.migrations, '0006').up.statements;
  assert.equal([vacuum.locks, vacuum.locks_observed], [[], false], 'VACUUM never waits: its locks cannot be read, and the report says so');

  for (const m of report.migrations) assert.equal({ v: m.version, reverts: m.down.reverts, reapply: m.reapply.ok }, { v: m.version, reverts: true, reapply: true });
  assert.is(report.verdict, 'ok');
  assert.is(exitCode, 0);
});

test('squawk findings at file:line:column, told the transaction mode, refined by the trace', async () => {
  const { report } = await reviewRange(LOCKS, '0002:0003');
  const [m] = report.migrations;
  const types = m.findings.filter((f) => f.rule === 'changing-column-type' && f.file === m.file);
  assert.equal(types.map((f) => [f.line, f.column, f.severity]), [[3, 40, 'warning'], [5, 20, 'note']]);
  assert.ok(m.findings.some((f) => f.source === 'dbvc' && f.rule === 'rewrite-under-access-exclusive' && f.line === 1));
  assert.ok(m.findings.some((f) => f.source === 'dbvc' && f.rule === 'statement-after-access-exclusive' && f.line === 2));
  assert.ok(m.findings.some((f) => f.rule === 'require-lock-timeout'));
  assert.not.ok(m.findings.some((f) => f.rule === 'prefer-robust-stmts'), 'a transactional file is linted as one');

  const quiet = await api.review(configFor('postgres://unused@localhost/unused', LOCKS, { ddlLockTimeout: '5s' }),
    { range: '0002:0003', scratchUrl: serverUrl(), report: capture() });
  assert.not.ok(quiet.report.migrations[0].findings.some((f) => f.rule === 'require-lock-timeout'), 'the run sets lock_timeout');

  const strict = await reviewRange(LOCKS, '0002:0003', 'warning');
  assert.is(strict.report.verdict, 'findings');
  assert.is(strict.exitCode, 3);
});

test('a down that leaves a column behind does not revert (exit 3)', async () => {
  const { report, exitCode } = await reviewRange(DOWNS, '0001:0002');
  const [m] = report.migrations;
  assert.equal(m.changes.map((c) => `${c.change} ${c.kind} ${c.name}`), ['added column public.t.x']);
  assert.is(m.down.reverts, false);
  assert.equal(m.down.differences.map((c) => `${c.change} ${c.kind} ${c.name}`), ['added column public.t.x']);
  assert.is(report.verdict, 'findings');
  assert.is(exitCode, 3);
});

test('an enum left behind, then an up that cannot apply again (exit 1)', async () => {
  const { report, exitCode } = await reviewRange(DOWNS, '0002:0003');
  const [m] = report.migrations;
  assert.equal(m.down.differences.map((c) => `${c.change} ${c.kind} ${c.name}`), ['added enum public.mood']);
  assert.equal(m.reapply.error, { file: 'test/fixtures/review-downs/0003_leave_enum.up.sql', line: 1, sqlstate: '42710', message: 'type "mood" already exists' });
  assert.is(report.verdict, 'failed');
  assert.is(exitCode, 1);
});

test('a renamed index and a column back at another position are differences', async () => {
  const renamed = (await reviewRange(DOWNS, '0003:0004')).report.migrations[0];
  assert.equal(renamed.down.differences.map((c) => `${c.change} ${c.kind} ${c.name}`), ['removed index public.t_b_idx', 'added index public.t_b_index']);
  const moved = (await reviewRange(DOWNS, '0004:0005')).report.migrations[0];
  const columns = moved.down.differences.filter((c) => c.kind === 'column');
  assert.equal(columns.map((c) => `${c.name} ${c.detail}`), ['public.t.b position: 2 -> 4', 'public.t.c position: 3 -> 2', 'public.t.x position: 4 -> 3']);
});

test('a failing down is reported at its file:line with its SQLSTATE, and the next migration still runs', async () => {
  const { report, exitCode } = await reviewRange(DOWNS, '0005:0007');
  const [failing, noDown] = report.migrations;
  assert.equal(failing.down.error, { file: 'test/fixtures/review-downs/0006_failing_down.down.sql', line: 2, sqlstate: '42P01', message: 'table "no_such_table" does not exist' });
  assert.is(failing.reapply.skipped, 'the down failed');
  assert.equal(noDown.down.file, null);
  assert.is(noDown.down.reverts, null);
  assert.ok(noDown.findings.some((f) => f.rule === 'missing-down' && f.severity === 'warning'));
  assert.equal(noDown.changes.map((c) => `${c.change} ${c.kind} ${c.name}`), ['added table public.irreversible', 'added column public.irreversible.id']);
  assert.is(exitCode, 1);
});

test('ADD VALUE used in the same transaction: the up fails at that line, and dbvc says why', async () => {
  const { report, exitCode } = await reviewRange(DOWNS, '0007:0008');
  const [m] = report.migrations;
  assert.equal(m.up.error, { file: 'test/fixtures/review-downs/0008_add_value.up.sql', line: 3, sqlstate: '55P04', message: 'unsafe use of new value "archived" of enum type status' });
  const finding = m.findings.find((f) => f.rule === 'enum-value-used-in-transaction')!;
  assert.equal([finding.source, finding.severity, finding.line], ['dbvc', 'error', 3]);
  assert.is(m.down.skipped, 'the up failed');
  assert.is(exitCode, 1);
});

test('without a range it reviews what upgrade would apply, and leaves the target exactly as it was', async () => {
  const target = await createDatabase();
  try {
    const config = configFor(target.url, DOWNS);
    await api.upgrade(config, '0003', { report: capture() });
    const schema = await snapshotSchema(target.db);
    const ledger = await snapshotLedger(target.db);
    const { report } = await api.review(config, { scratchUrl: serverUrl(), report: capture() });
    assert.equal(report.range, { from: '0003', to: '0008' });
    assert.equal(report.migrations.map((m) => m.version), ['0004', '0005', '0006', '0007', '0008']);
    assert.equal(await snapshotSchema(target.db), schema);
    assert.equal(await snapshotLedger(target.db), ledger);
  } finally {
    await target.drop();
  }
});

test('the annotated script (review --sql) leaves a database exactly as the online upgrade does', async () => {
  const [online, offline] = [await createDatabase(), await createDatabase()];
  try {
    await api.upgrade(configFor(online.url, LOCKS), '0001', { report: capture() });
    await api.upgrade(configFor(offline.url, LOCKS), '0001', { report: capture() });
    const config = configFor('postgres://unused@localhost/unused', LOCKS);
    const { report } = await api.review(config, { range: '0001:head', scratchUrl: serverUrl(), report: capture() });
    const script = (await api.renderReviewScript(config, report)).map((f) => f.text).join('\n');
    assert.match(script, /-- dbvc review: locks ShareLock public\.product; rewrites none; [\d.]+ ms on scratch\n(-- dbvc review: [^\n]*\n)*-- dbvc review: warning require-concurrent-index-creation \(squawk, 1:1\)/);
    assert.match(script, /-- dbvc review: locks ShareUpdateExclusiveLock public\.orders; rewrites none; [\d.]+ ms on scratch\n(-- dbvc review: [^\n]*\n)*CREATE INDEX CONCURRENTLY/);
    await api.upgrade(configFor(online.url, LOCKS), 'head', { report: capture() });
    const result = await runScript(offline.url, script, offline.db);
    assert.is(result.code, 0, result.stderr);
    assert.equal(await snapshotSchema(offline.db), await snapshotSchema(online.db));
    assert.equal(await snapshotLedger(offline.db), await snapshotLedger(online.db));
  } finally {
    await online.drop();
    await offline.drop();
  }
});

test('--since-git REF reviews the migrations whose files changed since that commit, untracked ones included', async () => {
  const repo = await mkdtemp(join(tmpdir(), 'dbvc-since-git-'));
  try {
    const dir = join(repo, 'sql');
    await cp(LOCKS, dir, { recursive: true });
    await rm(join(dir, '0005_concurrent_index.up.sql'));
    await rm(join(dir, '0005_concurrent_index.down.sql'));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'base');
    const config = configFor('postgres://unused@localhost/unused', dir);
    const none = await api.review(config, { sinceGit: 'HEAD', scratchUrl: serverUrl(), report: capture() });
    assert.equal(none.report.migrations, []);
    await appendFile(join(dir, '0003_columns.down.sql'), '-- edited\n');
    await writeFile(join(dir, '0005_more.up.sql'), 'CREATE TABLE more (id int);\n');
    await writeFile(join(dir, '0005_more.down.sql'), 'DROP TABLE more;\n');
    const { report } = await api.review(config, { sinceGit: 'HEAD', scratchUrl: serverUrl(), report: capture() });
    assert.equal(report.range, { from: '0002', to: '0005' });
    assert.equal(report.migrations.map((m) => m.version), ['0003', '0004', '0005']);
    const error = await rejection(api.review(config, { sinceGit: 'no-such-ref', scratchUrl: serverUrl(), report: capture() }));
    assert.is(error.code, 'usage');
    assert.match(error.message, /^--since-git no-such-ref: git could not list the changed migrations: /);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
});

test('a spare copy made ahead is claimed by the next review; two reviews at once each get a database of their own', async () => {
  const dir = await copyFixture('review-locks');
  const admin = connect(serverUrl());
  try {
    const before = await scratchDatabases(admin); // a shared server may hold what a killed run left
    await appendFile(join(dir, '0001_base.up.sql'), `-- ${process.pid} ${Date.now()}: a history of this test's own\n`);
    const template = templateName((await loadMigrations(dir, 'sql/test')).slice(0, 1));
    const spares = async () => (await admin`select datname from pg_database where datname like ${`${template.replace('tpl', 'spare').replaceAll('_', '\\_')}\\_%`}`).map((r) => r.datname as string);
    const cold = await reviewRange(dir, '0001:0003');
    assert.is(cold.report.scratch.warm, false);
    const [{ fsync }] = await admin`select current_setting('fsync') as fsync`;
    if (fsync === 'on') assert.equal(await spares(), [], 'with fsync on, a review that built its template makes no spare');
    await reviewRange(dir, '0001:0003');
    const [first] = await spares();
    assert.ok(first, 'a warm review leaves a spare copy of its template');
    assert.equal(await spares(), [first], 'one spare');
    const both = await Promise.all([reviewRange(dir, '0001:0003'), reviewRange(dir, '0001:0003')]);
    const gist = (r: typeof cold) => r.report.migrations.map((m) => ({ changes: m.changes, reverts: m.down.reverts, up: m.up.statements.map((s) => [s.locks, s.rewrites]) }));
    for (const warm of both) {
      assert.equal([warm.report.scratch.warm, warm.exitCode], [true, cold.exitCode]);
      assert.equal(gist(warm), gist(cold), 'the same rehearsal as on a fresh copy');
    }
    const after = await spares();
    assert.not.ok(after.includes(first), 'the spare was claimed (renamed), not copied from');
    assert.ok(after.length >= 1 && after.length <= 2, `a spare made for the next review: ${after}`);
    assert.equal(await scratchDatabases(admin, before), [], 'both scratch databases dropped');
  } finally {
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
});

test('squawk that cannot run is an error (fail closed), never an empty list of findings', async () => {
  const file = { path: 'test/fixtures/review-locks/0002_index.up.sql', noTransaction: false };
  const clean = await lintFiles([{ path: 'test/fixtures/review-downs/0002_leave_column.down.sql', noTransaction: false }], { root: ROOT, pgVersion: '17.10', setsLockTimeout: false });
  assert.equal(clean, []);
  const badVersion = await rejection(lintFiles([file], { root: ROOT, pgVersion: 'nope', setsLockTimeout: false }));
  assert.is(badVersion.code, 'lint');
  assert.match(badVersion.message, /^squawk did not run: exit 2: error: invalid value 'nope' for '--pg-version <PG_VERSION>'/);
  const missing = await rejection(lintFiles([{ path: 'no/such/file.sql', noTransaction: true }], { root: ROOT, pgVersion: '17.10', setsLockTimeout: false }));
  assert.is(missing.code, 'lint');
});

test('Ctrl-C stops the review before the next migration (exit 130) and leaves no scratch database behind', async () => {
  const controller = new AbortController();
  controller.abort();
  const config = configFor('postgres://unused@localhost/unused', LOCKS);
  const admin = connect(serverUrl());
  try {
    const before = await scratchDatabases(admin);
    const error = await rejection(api.review(config, { range: '0001:0002', scratchUrl: serverUrl(), signal: controller.signal, report: capture() }));
    assert.is(error.code, 'interrupted');
    assert.equal(await scratchDatabases(admin, before), []);
  } finally {
    await admin.end();
  }
});

test('an earlier migration that fails while the scratch database is brought up to the range is exit 1, naming it', async () => {
  const dir = await copyFixture('review-downs');
  try {
    await writeFile(join(dir, '0009_later.up.sql'), 'CREATE TABLE later (id int);\n');
    await writeFile(join(dir, '0009_later.down.sql'), 'DROP TABLE later;\n');
    const config = configFor('postgres://unused@localhost/unused', dir);
    const error = await rejection(api.review(config, { range: '0008:0009', scratchUrl: serverUrl(), report: capture() }));
    assert.is(error.code, 'sql');
    assert.match(error.message, /0008_add_value\.up\.sql failed on the scratch database while bringing it to the revision before the review: unsafe use of new value "archived"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('reviews that finish building the same template at once all succeed, and one template is kept', async () => {
  // two reviews started together on a history no template holds yet: their renames race in pg_database
  const admins = Array.from({ length: 6 }, () => connect(serverUrl()));
  try {
    for (let round = 0; round < 3; round++) {
      const name = `dbvc_scratch_tpl_race_${randomBytes(4).toString('hex')}`;
      const builds = admins.map((_, i) => `dbvc_scratch_build_race_${round}_${i}_${randomBytes(3).toString('hex')}`);
      for (const build of builds) await admins[0].unsafe(`create database ${build} template template0`);
      try {
        const results = await Promise.allSettled(admins.map((admin, i) => keepTemplate(admin, builds[i], name)));
        const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason?.message));
        assert.equal(failed, [], `round ${round}`);
      } finally {
        for (const database of [name, ...builds]) await admins[0].unsafe(`drop database if exists ${database}`);
      }
    }
  } finally {
    await Promise.all(admins.map((admin) => admin.end()));
  }
});

test('a --scratch-url user who may not create databases is exit 5, saying what it needs', async () => {
  const admin = connect(serverUrl());
  const role = `dbvc_review_${process.pid}`;
  await admin.unsafe(`create role ${role} login nocreatedb`);
  try {
    const url = new URL(serverUrl());
    url.username = role;
    url.password = '';
    const error = await rejection(api.review(configFor('postgres://unused@localhost/unused', LOCKS), { range: '0001:0002', scratchUrl: url.href, report: capture() }));
    assert.is(error.code, 'connect');
    assert.match(error.message, /cannot hold a scratch database: permission denied to create database$/);
    assert.match(error.hint, /needs CREATEDB/);
  } finally {
    await admin.unsafe(`drop role ${role}`);
    await admin.end();
  }
});

test('an unreachable scratch server is exit 5, not a clean review', async () => {
  const error = await rejection(api.review(configFor('postgres://unused@localhost/unused', LOCKS), { range: '0001:0002', scratchUrl: 'postgres://u:S3cret@127.0.0.1:1/x', report: capture() }));
  assert.is(error.code, 'connect', error.message);
  assert.match(error.message, /^the scratch server postgres:\/\/u:\*\*\*@127.0.0.1:1\/x is unreachable: nothing is listening/);
  assert.not.match(error.message, /S3cret/);
});

test.run();
