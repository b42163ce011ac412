// Issue 12: never record a migration that did not run, never run one twice.
import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { runScript } from '../helpers/catalog.js';
import { capture, configFor, createDatabase, rejection, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dirs: string[] }>('integrity');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dirs = [];
});
test.after.each(async (context) => {
  await context.t.drop();
  for (const dir of context.dirs) await rm(dir, { recursive: true, force: true });
});

const report = () => ({ report: capture() });

/** A migrations folder where migration N creates table t_N and its down drops it. */
async function tableFolder(dirs: string[], numbers: number[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbvc-integrity-'));
  dirs.push(dir);
  for (const n of numbers) await addTableMigration(dir, n);
  return dir;
}

async function addTableMigration(dir: string, n: number): Promise<void> {
  const stem = `${String(n).padStart(4, '0')}_t${n}`;
  await writeFile(join(dir, `${stem}.up.sql`), `CREATE TABLE t_${n} (id int);\n`);
  await writeFile(join(dir, `${stem}.down.sql`), `DROP TABLE t_${n};\n`);
}

async function tables(t: TestDatabase): Promise<string[]> {
  const rows = await t.db`select tablename from pg_tables where schemaname = 'public' and tablename like 't\\_%' order by 1`;
  return rows.map((r) => r.tablename);
}

async function versionRows(t: TestDatabase): Promise<string[]> {
  return (await t.db`select version_num from alembic_version`).map((r) => r.version_num);
}

async function outOfOrderDatabase(t: TestDatabase, dirs: string[]) {
  const dir = await tableFolder(dirs, [1, 2, 3, 4, 6]);
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await addTableMigration(dir, 5); // the other branch, merged after 0006 was deployed
  return { dir, config };
}

test('a file that appears below the current revision is out of order: listed by status, never adopted or skipped', async ({ t, dirs }) => {
  const { config } = await outOfOrderDatabase(t, dirs);
  const label = config.migrationsLabel;
  const status = await api.status(config, report());
  assert.is(status.applied, 5);
  assert.equal(status.problems.map((p) => p.message), [`${label}/0005_t5.up.sql is out of order: it was never applied, and the database is already at 0006, above it`]);
  assert.match(status.problems[0].hint!, /dbvc renumber 0005 .* dbvc upgrade --allow-out-of-order/);
  const error = await rejection(api.upgrade(config, undefined, report()));
  assert.is(error.code, 'state');
  assert.is(error.message, `${label}/0005_t5.up.sql is out of order: it was never applied, and the database is already at 0006, above it`);
  const down = await rejection(api.downgrade(config, '0004', report()));
  assert.is(down.code, 'state');
  assert.equal(await tables(t), ['t_1', 't_2', 't_3', 't_4', 't_6']);
  const events = await t.db`select event, version_num from dbvc_history where version_num = '0005'`;
  assert.equal(events.length, 0);
});

test('a database only Alembic moved is still adopted (no dbvc history but adopted rows)', async ({ t, dirs }) => {
  const dir = await tableFolder(dirs, [1, 2]);
  await t.db.unsafe('create table alembic_version (version_num varchar(32) not null primary key); insert into alembic_version values (\'0002\')');
  const config = configFor(t.url, dir);
  const moved = await api.upgrade(config, undefined, report());
  assert.equal(moved.steps, []);
  const events = await t.db`select event, version_num from dbvc_history order by id`;
  assert.equal(events.map((e) => [e.event, e.version_num]), [['adopted', '0001'], ['adopted', '0002']]);
  await addTableMigration(dir, 3);
  const again = await api.upgrade(config, undefined, report());
  assert.equal(again.steps.map((s) => s.version), ['0003']);
});

test('--allow-out-of-order applies the file where it stands, records it as such, and downgrades stay correct', async ({ t, dirs }) => {
  const { config } = await outOfOrderDatabase(t, dirs);
  const result = await api.upgrade(config, undefined, { report: capture(), allowOutOfOrder: true });
  assert.equal(result.steps.map((s) => s.version), ['0005']);
  assert.equal(await versionRows(t), ['0006']);
  assert.equal(await tables(t), ['t_1', 't_2', 't_3', 't_4', 't_5', 't_6']);
  const [row] = await t.db`select event, from_version, to_version, note from dbvc_history where version_num = '0005'`;
  assert.equal({ ...row }, { event: 'up', from_version: '0006', to_version: '0006', note: 'applied out of order: the database was at 0006, above it; alembic_version was left there' });
  assert.equal((await api.status(config, report())).problems, []);
  await api.downgrade(config, '0004', report());
  assert.equal(await tables(t), ['t_1', 't_2', 't_3', 't_4']);
  assert.equal(await versionRows(t), ['0004']);
  await api.upgrade(config, undefined, report());
  assert.equal(await tables(t), ['t_1', 't_2', 't_3', 't_4', 't_5', 't_6']);
});

test('renumber moves the pair above head, and upgrade then applies it', async ({ t, dirs }) => {
  const { dir, config } = await outOfOrderDatabase(t, dirs);
  const label = config.migrationsLabel;
  const result = await api.renumber(config, '0005', report());
  assert.equal(result, { from: '0005', to: '0007', files: [
    { was: `${label}/0005_t5.up.sql`, now: `${label}/0007_t5.up.sql` }, { was: `${label}/0005_t5.down.sql`, now: `${label}/0007_t5.down.sql` },
  ] });
  assert.equal((await readdir(dir)).filter((f) => f.startsWith('0007')).sort(), ['0007_t5.down.sql', '0007_t5.up.sql']);
  const moved = await api.upgrade(config, undefined, report());
  assert.equal(moved.steps.map((s) => s.version), ['0007']);
  assert.equal(await versionRows(t), ['0007']);
});

test('renumber refuses an applied migration, and a new number the database already knows; nothing is renamed', async ({ t, dirs }) => {
  const { dir, config } = await outOfOrderDatabase(t, dirs);
  const applied = await rejection(api.renumber(config, '0004', report()));
  assert.is(applied.code, 'state');
  assert.match(applied.message, /0004_t4\.up\.sql was applied to /);
  await t.db`insert into dbvc_history (run_id, event, version_num) values ('x', 'up', '0007')`; // another branch's 0007 ran here
  const known = await rejection(api.renumber(config, '0005', report()));
  assert.is(known.code, 'state');
  assert.match(known.message, /^cannot renumber 0005_t5 to 0007: .* already knows revision 0007 \(1 dbvc_history row since /);
  assert.ok((await readdir(dir)).includes('0005_t5.up.sql'));
});

test('an offline script that starts above a file that never ran stops before running anything', async ({ t, dirs }) => {
  const { dir, config } = await outOfOrderDatabase(t, dirs);
  await addTableMigration(dir, 7);
  const script = await api.renderOffline(configFor('embedded', dir), 'up', '0006:head');
  const text = script.files.map((f) => f.text).join('\n');
  const error = await rejection(t.db.unsafe(text));
  assert.match(error.message, /^dbvc: out of order: 0005 never ran on this database/);
  await t.db.unsafe('rollback'); // the script's BEGIN left this session's transaction open, aborted
  assert.equal(await tables(t), ['t_1', 't_2', 't_3', 't_4', 't_6']);
  await api.renumber(config, '0005', report()); // 0005 becomes 0008: the script from 0006 now runs 0007 and 0008
  const renumbered = await api.renderOffline(configFor('embedded', dir), 'up', '0006:head');
  await t.db.unsafe(renumbered.files.map((f) => f.text).join('\n'));
  assert.equal(await versionRows(t), ['0008']);
});

test('current never prints a revision alembic_version does not hold: two rows and an unknown id are problems (exit 3)', async ({ t, dirs }) => {
  const dir = await tableFolder(dirs, [1, 2]);
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await t.db`insert into alembic_version values ('0001')`;
  const branches = await rejection(api.current(config, report()));
  assert.is(branches.code, 'state');
  assert.is(branches.message, 'alembic_version holds 2 rows (0001, 0002): the database is on several Alembic branches');
  await t.db`delete from alembic_version`;
  await t.db`insert into alembic_version values ('6173b7ed3174')`;
  const unknown = await rejection(api.current(config, report()));
  assert.is(unknown.code, 'state');
  assert.match(unknown.message, /^alembic_version holds revision "6173b7ed3174", which no file in .* knows/);
  const status = await api.status(config, report());
  assert.is(status.applied, null);
  assert.equal(status.pending, []);
  assert.is(status.problems.length, 1);
});

test('history lists events oldest first, also past ten rows', async ({ t, dirs }) => {
  const dir = await tableFolder(dirs, [1, 2, 3, 4, 5, 6]);
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await api.downgrade(config, 'base', report());
  const rows = await api.history(config, report());
  assert.is(rows.length, 12);
  assert.equal(rows.map((r) => `${r.event} ${r.version}`), [
    'up 0001', 'up 0002', 'up 0003', 'up 0004', 'up 0005', 'up 0006', 'down 0006', 'down 0005', 'down 0004', 'down 0003', 'down 0002', 'down 0001',
  ]);
});

async function writePair(dir: string, version: number, up: string, down: string): Promise<void> {
  const stem = `${String(version).padStart(4, '0')}_m${version}`;
  await writeFile(join(dir, `${stem}.up.sql`), up);
  await writeFile(join(dir, `${stem}.down.sql`), down);
}

test('a failed migration is never run again to find its line: the sequence it advanced moved once', async ({ t, dirs }) => {
  const dir = await mkdtemp(join(tmpdir(), 'dbvc-integrity-'));
  dirs.push(dir);
  await writePair(dir, 1, 'CREATE SEQUENCE s;\n', 'DROP SEQUENCE s;\n');
  await writePair(dir, 2, 'CREATE TABLE x (id int);\nSELECT nextval(\'s\');\n\n  SELECT 1 / 0;\nCREATE TABLE y (id int);\n', 'DROP TABLE x;\n');
  const config = configFor(t.url, dir);
  const error = await rejection(api.upgrade(config, undefined, report()));
  assert.is(error.code, 'sql');
  assert.is(error.message, `${config.migrationsLabel}/0002_m2.up.sql:4: division by zero`);
  assert.ok(error.lines.includes('SQLSTATE 22012'), error.lines.join('\n'));
  const [{ last_value, is_called }] = await t.db`select last_value, is_called from s`;
  assert.equal([Number(last_value), is_called], [1, true]); // nextval ran once: the file was not replayed
  assert.equal(await versionRows(t), ['0001']);
  const single = await rejection(api.upgrade(config, undefined, { report: capture(), singleTransaction: true }));
  assert.is(single.message, `${config.migrationsLabel}/0002_m2.up.sql:4: division by zero`);
  const [again] = await t.db`select last_value from s`;
  assert.is(Number(again.last_value), 2);
});

/** 0001 changes search_path and role for the session; 0002 must not see either. */
async function sessionFolder(dirs: string[], role: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbvc-integrity-'));
  dirs.push(dir);
  await writePair(dir, 1, `CREATE SCHEMA app;\nSET search_path = app;\nCREATE TABLE a1 (id int);\nSET ROLE ${role};\n`, 'DROP TABLE app.a1;\nDROP SCHEMA app;\n');
  await writePair(dir, 2, 'CREATE TABLE b2 (id int);\n', 'DROP TABLE b2;\n');
  return dir;
}

async function whereB2(t: TestDatabase): Promise<string> {
  const rows = await t.db`select schemaname || '.' || tablename || ' owned by ' || tableowner as shown from pg_tables where tablename = 'b2'`;
  return rows.map((r) => r.shown).join(', ');
}

test('every migration starts from the session as it connected, whatever ran before it, online and offline', async ({ t, dirs }) => {
  const role = `dbvc_role_${t.name.slice(-10)}`;
  await t.db.unsafe(`create role ${role}`);
  const [{ user }] = await t.db`select current_user as user`;
  try {
    const dir = await sessionFolder(dirs, role);
    const config = configFor(t.url, dir);
    const expected = `public.b2 owned by ${user}`;
    await api.upgrade(config, undefined, report()); // one run
    assert.is(await whereB2(t), expected);
    await api.downgrade(config, 'base', report());
    await api.upgrade(config, '+1', report()); // two runs
    await api.upgrade(config, '+1', report());
    assert.is(await whereB2(t), expected);
    await api.downgrade(config, 'base', report());
    await api.upgrade(config, undefined, { report: capture(), singleTransaction: true });
    assert.is(await whereB2(t), expected);
    await api.downgrade(config, 'base', report());
    const script = await api.renderOffline(configFor('embedded', dir), 'up', undefined);
    const result = await runScript(t.url, script.files.map((f) => f.text).join('\n'), t.db);
    assert.is(result.code, 0, result.stderr);
    assert.is(await whereB2(t), expected);
    await api.downgrade(config, 'base', report());
    assert.equal(await versionRows(t), []);
  } finally {
    await t.db.unsafe(`drop owned by ${role}; drop role ${role}`);
  }
});

test('a deleted down file: the online downgrade says whose recorded down SQL it runs, from when, before running it; offline refuses and says so', async ({ t, dirs }) => {
  const dir = await tableFolder(dirs, [1, 2, 3]);
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await unlink(join(dir, '0002_t2.down.sql'));
  const offline = await rejection(api.renderOffline(configFor('embedded', dir), 'down', '0003:0001'));
  assert.is(offline.code, 'irreversible');
  assert.match(offline.hint, /online, dbvc downgrade runs the down SQL recorded in dbvc_history when the migration was applied, and says so first/);
  const [row] = await t.db`select applied_at, down_checksum from dbvc_history where version_num = '0002' and event = 'up'`;
  const events: string[] = [];
  const online = { info: (line: string) => events.push(line), notice: () => {}, stepStart: (step: { migration: { version: string } }) => events.push(`start ${step.migration.version}`) };
  const result = await api.downgrade(config, '-2', { report: online });
  assert.equal(result.steps.map((s) => s.file), [`${config.migrationsLabel}/0003_t3.down.sql`, `${config.migrationsLabel}/0002_t2.down.sql (as recorded in dbvc_history)`]);
  const said = `${config.migrationsLabel}/0002_t2.down.sql is not on disk: running the down SQL recorded in dbvc_history when 0002 was applied on ${row.applied_at.toISOString()} (${row.down_checksum})`;
  assert.ok(events.includes(said), events.join('\n'));
  assert.ok(events.indexOf(said) < events.indexOf('start 0003'), `said before anything ran: ${events.join(' | ')}`);
  assert.equal(await tables(t), ['t_1']);
});

test.run();
