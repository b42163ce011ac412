// Issue 13: status lists every migration and every problem, even with unfinished files; show; drift as a diff.
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { capture, configFor, createDatabase, rejection, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dir: string }>('inspect');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dir = await mkdtemp(join(tmpdir(), 'dbvc-inspect-'));
});
test.after.each(async (context) => {
  await context.t.drop();
  await rm(context.dir, { recursive: true, force: true });
});

const report = () => ({ report: capture() });

async function writePair(dir: string, version: number, up: string, down: string | null = `SELECT ${version};\n`): Promise<void> {
  const stem = `${String(version).padStart(4, '0')}_m${version}`;
  await writeFile(join(dir, `${stem}.up.sql`), up);
  if (down !== null) await writeFile(join(dir, `${stem}.down.sql`), down);
}

test('status and current still answer with an unfinished revision pair and a stray file; moving commands refuse', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE a (id int);\n');
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await writePair(dir, 2, '-- 0002_m2: fresh (upgrade)\n', '-- nothing yet\n'); // what dbvc revision writes
  await writeFile(join(dir, 'seed.sql'), 'INSERT INTO a VALUES (1);\n');
  const status = await api.status(config, report());
  assert.is(status.current, '0001');
  assert.equal(status.migrations.map((m) => [m.version, m.state]), [['0001', 'applied']]);
  assert.equal(status.problems.map((p) => p.code), ['file', 'file']);
  assert.match(status.problems.map((p) => p.message).join('\n'), /0002_m2\.up\.sql has no SQL statement/);
  assert.match(status.problems.map((p) => p.message).join('\n'), /seed\.sql/);
  assert.equal(await api.current(config, report()), { current: '0001', isHead: false, stem: '0001_m1' });
  const error = await rejection(api.upgrade(config, undefined, report()));
  assert.is(error.code, 'file');
});

test('an empty or comment-only down file is a deliberate no-op: accepted, shown, and run as nothing', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE a (id int);\n', 'DROP TABLE a;\n');
  await writePair(dir, 2, 'INSERT INTO a VALUES (1);\n', '-- data stays: nothing to undo\n');
  await writePair(dir, 3, 'INSERT INTO a VALUES (2);\n', '');
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  const status = await api.status(config, report());
  assert.equal(status.migrations.map((m) => [m.version, m.down]), [['0001', 'file'], ['0002', 'empty'], ['0003', 'empty']]);
  assert.equal(status.problems, []);
  const shown = await api.show(config, '2', report());
  assert.is(shown.down?.isEmpty, true);
  const down = await api.downgrade(config, '0001', report());
  assert.equal(down.steps.map((s) => s.version), ['0003', '0002']);
  const [{ count }] = await t.db`select count(*)::int from a`;
  assert.is(count, 2);
});

test('status lists every migration: applied when and by whom, pending, out of order, changed, missing file', async ({ t, dir }) => {
  for (const v of [1, 2, 3, 5]) await writePair(dir, v, `CREATE TABLE t${v} (id int);\n`);
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await writePair(dir, 4, 'CREATE TABLE t4 (id int);\n'); // out of order
  await writePair(dir, 6, 'CREATE TABLE t6 (id int);\n'); // pending
  await writeFile(join(dir, '0002_m2.up.sql'), 'CREATE TABLE t2 (id bigint);\n'); // changed
  await unlink(join(dir, '0003_m3.up.sql')); // missing file
  await unlink(join(dir, '0003_m3.down.sql'));
  const status = await api.status(config, report());
  const [{ user }] = await t.db`select current_user as user`;
  assert.equal(status.migrations.map((m) => [m.version, m.state, m.file?.replace(/^.*\//, '') ?? null, m.appliedBy]), [
    ['0001', 'applied', '0001_m1.up.sql', user],
    ['0002', 'changed', '0002_m2.up.sql', user],
    ['0003', 'missing file', null, user],
    ['0004', 'out of order', '0004_m4.up.sql', null],
    ['0005', 'applied', '0005_m5.up.sql', user],
    ['0006', 'pending', '0006_m6.up.sql', null],
  ]);
  assert.ok(status.migrations[0].appliedAt instanceof Date);
  assert.is(status.applied, 3);
  assert.equal(status.pending.map((p) => p.version), ['0006']);
});

test('drift shows what changed as a diff, and says when only whitespace or comments did', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE a (id int);\nCREATE INDEX a_id ON a (id);\n');
  await writePair(dir, 2, 'CREATE TABLE b (id int);\n');
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await writeFile(join(dir, '0001_m1.up.sql'), 'CREATE TABLE a (id bigint);\nCREATE INDEX a_id ON a (id);\n');
  await writeFile(join(dir, '0002_m2.up.sql'), '-- the b table\nCREATE TABLE   b (id int); -- keep\n');
  const label = config.migrationsLabel;
  const error = await rejection(api.upgrade(config, undefined, report()));
  assert.is(error.code, 'state');
  const text = error.lines.join('\n');
  assert.match(text, /the SQL itself changed\n {2}--- .*0001_m1\.up\.sql \(as applied\)\n {2}\+\+\+ .*0001_m1\.up\.sql \(on disk\)\n {2}@@ -1,2 \+1,2 @@\n {2}-CREATE TABLE a \(id int\);\n {2}\+CREATE TABLE a \(id bigint\);\n {2} CREATE INDEX a_id ON a \(id\);/);
  assert.match(text, /only whitespace or comments changed: dbvc repair accepts it safely/);
  const status = await api.status(config, report());
  const changed = status.problems.find((p) => p.message === `${label}/0002_m2.up.sql changed after it was applied`)!;
  assert.ok(changed.lines.includes('only whitespace or comments changed: dbvc repair accepts it safely'), changed.lines.join('\n'));
  const shown = await api.show(config, '0001', report());
  assert.equal(shown.change, {
    isCosmetic: false,
    diff: [`--- ${label}/0001_m1.up.sql (as applied)`, `+++ ${label}/0001_m1.up.sql (on disk)`, '@@ -1,2 +1,2 @@', '-CREATE TABLE a (id int);', '+CREATE TABLE a (id bigint);', ' CREATE INDEX a_id ON a (id);'],
  });
  assert.equal(shown.history.map((h) => [h.event, h.version, h.upSql]), [['up', '0001', 'CREATE TABLE a (id int);\nCREATE INDEX a_id ON a (id);\n']]);
  assert.is(shown.state.state, 'changed');
});

test('show names files, checksums and state of a pending migration, and refuses base', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE a (id int);\n', null);
  const config = configFor(t.url, dir);
  const shown = await api.show(config, '0001_m1', report());
  assert.is(shown.up.file, `${config.migrationsLabel}/0001_m1.up.sql`);
  assert.match(shown.up.checksum, /^sha256:[0-9a-f]{64}$/);
  assert.is(shown.down, null);
  assert.equal([shown.state.state, shown.state.down, shown.change, shown.history], ['pending', 'none', null, []]);
  const error = await rejection(api.show(config, 'base', report()));
  assert.is(error.code, 'usage');
});

test('a branch switch leaves the database at a revision the checkout lacks: dbvc says who applied it and can take it back', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE a (id int);\n', 'DROP TABLE a;\n');
  await writePair(dir, 2, 'CREATE TABLE b (id int);\n', 'DROP TABLE b;\n');
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await unlink(join(dir, '0002_m2.up.sql')); // the other branch's pair
  await unlink(join(dir, '0002_m2.down.sql'));
  const label = config.migrationsLabel;
  const [{ user }] = await t.db`select current_user as user`;
  const error = await rejection(api.upgrade(config, undefined, report()));
  assert.is(error.code, 'state');
  assert.match(error.message, new RegExp(`^alembic_version holds revision "0002", which no file in ${label} has: dbvc applied 0002_m2 on \\d{4}-.*Z by ${user}$`));
  assert.is(error.hint, `switch to the branch that has ${label}/0002_m2.up.sql; or go back to a revision this checkout has with dbvc downgrade REV, which runs the down SQL dbvc_history recorded (and says so first)`);
  const events: string[] = [];
  const result = await api.downgrade(config, '0001', { report: { info: (l: string) => events.push(l), notice: () => {} } });
  assert.equal(result.steps.map((s) => s.file), [`${label}/0002_m2.down.sql (as recorded in dbvc_history)`]);
  assert.ok(events.some((l) => l.startsWith(`${label}/0002_m2.down.sql is not on disk: running the down SQL recorded in dbvc_history`)), events.join('\n'));
  const [{ b }] = await t.db`select to_regclass('b') is not null as b`;
  assert.is(b, false);
  assert.equal((await api.status(config, report())).problems, []);
});

test.run();
