import { rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { checksumText } from '../../src/core/checksum.js';
import { acquireLock, releaseLock, writeVersion } from '../../src/store.js';
import { capture, configFor, connect, copyFixture, createDatabase, fixture, rejection, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dirs: string[] }>('state');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dirs = [];
});
test.after.each(async (context) => {
  await context.t.drop();
  for (const dir of context.dirs) await rm(dir, { recursive: true, force: true });
});

const report = () => ({ report: capture() });

test('drift: a changed applied up file stops every move, naming the file and both checksums', async ({ t, dirs }) => {
  const dir = await copyFixture('shop');
  dirs.push(dir);
  const config = configFor(t.url, dir);
  await api.upgrade(config, '0002', report());
  const changed = 'CREATE TABLE orders (id int);\n';
  await writeFile(join(dir, '0002_add_orders.up.sql'), changed);
  const error = await rejection(api.upgrade(config, undefined, report()));
  const label = config.migrationsLabel;
  assert.is(error.code, 'state');
  assert.is(error.message, `${label}/0002_add_orders.up.sql changed after it was applied`);
  assert.match(error.lines[0], /^recorded: sha256:[0-9a-f]{64}$/);
  assert.is(error.lines[1], `on disk:  ${checksumText(changed)}`);
  assert.match(error.hint, /restore the file .* dbvc repair/);
  const downgrade = await rejection(api.downgrade(config, 'base', report()));
  assert.is(downgrade.code, 'state');
  const status = await api.status(config, report());
  assert.equal(status.problems.map((p) => p.message), [`${label}/0002_add_orders.up.sql changed after it was applied`]);
  const [{ version_num }] = await t.db`select version_num from alembic_version`;
  assert.is(version_num, '0002');
});

test('CRLF line endings and a BOM are not drift', async ({ t, dirs }) => {
  const dir = await copyFixture('shop');
  dirs.push(dir);
  const config = configFor(t.url, dir);
  await api.upgrade(config, '0002', report());
  const file = join(dir, '0002_add_orders.up.sql');
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(file, 'utf8');
  await writeFile(file, '\uFEFF' + text.replace(/\n/g, '\r\n'));
  const status = await api.status(config, report());
  assert.equal(status.problems, []);
});

test('repair accepts the new text after review, records who did, and lets the database move again', async ({ t, dirs }) => {
  const dir = await copyFixture('shop');
  dirs.push(dir);
  const config = configFor(t.url, dir);
  await api.upgrade(config, '0003', report());
  const before = await t.db`select up_checksum from dbvc_history where version_num = '0003'`;
  await writeFile(join(dir, '0003_index_orders.up.sql'), 'CREATE INDEX orders_product_idx ON orders (product_id, id);\n');
  const result = await api.repair(config, report());
  assert.equal(result.repaired.map((r) => r.file), [`${config.migrationsLabel}/0003_index_orders.up.sql`]);
  assert.is(result.repaired[0].was, before[0].up_checksum);
  const [row] = await t.db`select event, up_checksum, applied_by, note from dbvc_history order by id desc limit 1`;
  assert.is(row.event, 'repair');
  assert.is(row.up_checksum, result.repaired[0].now);
  assert.is(row.applied_by, 'postgres');
  assert.match(row.note, /^accepted the changed file; was sha256:/);
  const again = await api.repair(config, report());
  assert.equal(again.repaired, []);
  const moved = await api.upgrade(config, undefined, report());
  assert.is(moved.to, '0004');
});

test('an unknown revision (an Alembic hex id) is a clear error that says how to adopt the database', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  await t.db`CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))`;
  await t.db`insert into alembic_version values ('6173b7ed3174')`;
  const error = await rejection(api.upgrade(config, undefined, report()));
  assert.is(error.code, 'state');
  assert.is(error.message, 'alembic_version holds revision "6173b7ed3174", which no file in test/fixtures/shop knows (known: 0001..0004)');
  assert.match(error.hint, /dbvc stamp REV --purge/);
  assert.match(error.hint, /-- dbvc:alembic-revision 6173b7ed3174/);
  const status = await api.status(config, report());
  assert.is(status.current, '6173b7ed3174');
  assert.equal(status.pending, []);
  assert.is(status.problems.length, 1);
  const stamped = await api.stamp(config, '0002', true, report());
  assert.equal(stamped, { from: '6173b7ed3174', to: '0002' });
  const after = await api.status(config, report());
  assert.equal({ current: after.current, pending: after.pending.map((p) => p.version), problems: after.problems }, { current: '0002', pending: ['0003', '0004'], problems: [] });
});

test('a database stamped without dbvc history (as Alembic leaves it) is adopted once: recorded, not re-run', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  await t.db`CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))`;
  await t.db`insert into alembic_version values ('0001')`;
  await t.db.unsafe('CREATE TABLE product (id int primary key, name text, price numeric)');
  const captured = capture();
  const moved = await api.upgrade(config, '0002', { report: captured });
  assert.equal(moved.steps.map((s) => s.version), ['0002'], '0001 was not re-run');
  assert.ok(captured.lines.some((l) => l.startsWith('adopted 1 migration up to 0001_create_product that were applied without dbvc history (nothing was run)')), captured.lines.join('\n'));
  const rows = await t.db`select event, version_num, from_version, to_version, up_checksum is not null as has_checksum from dbvc_history order by id`;
  assert.equal(rows.map((r) => [r.event, r.version_num, r.from_version, r.to_version, r.has_checksum]), [['adopted', '0001', null, '0001', true], ['up', '0002', '0001', '0002', true]]);
  const again = capture();
  await api.upgrade(config, undefined, { report: again });
  assert.not.ok(again.lines.some((l) => l.startsWith('adopted')), 'adopted only once');
  await api.downgrade(config, 'base', report());
  const [{ product }] = await t.db`select to_regclass('product') as product`;
  assert.is(product, null, 'the adopted migration goes down with its down file');
});

test('two rows in alembic_version (Alembic branches) are a clear error', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  await t.db`CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))`;
  await t.db`insert into alembic_version values ('0001'), ('0002')`;
  const error = await rejection(api.upgrade(config, undefined, report()));
  assert.is(error.code, 'state');
  assert.is(error.message, 'alembic_version holds 2 rows (0001, 0002): the database is on several Alembic branches');
  const plainStamp = await rejection(api.stamp(config, '0002', false, report()));
  assert.is(plainStamp.code, 'state');
});

test('stamp moves alembic_version without running SQL and records a row per migration crossed', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  const up = await api.stamp(config, '0003', false, report());
  assert.equal(up, { from: null, to: '0003' });
  const tables = await t.db`select tablename from pg_tables where schemaname = 'public' and tablename in ('product', 'orders')`;
  assert.is(tables.length, 0);
  const rows = await t.db`select event, version_num, from_version, to_version, up_checksum is not null as has_checksum from dbvc_history order by id`;
  assert.equal(rows.map((r) => [r.event, r.version_num, r.from_version, r.to_version, r.has_checksum]), [
    ['stamp', '0001', null, '0001', true], ['stamp', '0002', '0001', '0002', true], ['stamp', '0003', '0002', '0003', true],
  ]);
  const down = await api.stamp(config, '0001', false, report());
  assert.equal(down, { from: '0003', to: '0001' });
  const back = await t.db`select version_num, to_version, up_checksum from dbvc_history order by id desc limit 2`;
  assert.equal(back.map((r) => [r.version_num, r.to_version, r.up_checksum]), [['0002', '0001', null], ['0003', '0002', null]]);
  const [{ version_num }] = await t.db`select version_num from alembic_version`;
  assert.is(version_num, '0001');
});

test('a downgrade uses the down SQL recorded at apply time when the down file is gone', async ({ t, dirs }) => {
  const dir = await copyFixture('shop');
  dirs.push(dir);
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await unlink(join(dir, '0004_order_totals.down.sql'));
  const result = await api.downgrade(config, '-1', report());
  assert.equal(result.steps.map((s) => s.file), [`${config.migrationsLabel}/0004_order_totals.down.sql (as recorded in dbvc_history)`]);
  const views = await t.db`select 1 from pg_views where viewname = 'order_totals'`;
  assert.is(views.length, 0);
});

test('status and current report position, head and pending; history lists every event', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  const empty = await api.status(config, report());
  assert.equal({ current: empty.current, head: empty.head, applied: empty.applied, pending: empty.pending.length }, { current: null, head: '0004', applied: 0, pending: 4 });
  const tables = await t.db`select 1 from pg_tables where tablename in ('alembic_version', 'dbvc_history')`;
  assert.is(tables.length, 0, 'read-only commands create nothing');
  await api.upgrade(config, '0002', report());
  const status = await api.status(config, report());
  assert.equal(status.pending.map((p) => p.version), ['0003', '0004']);
  assert.is(status.currentStem, '0002_add_orders');
  assert.equal(await api.current(config, report()), { current: '0002', isHead: false, stem: '0002_add_orders' });
  await api.downgrade(config, '-1', report());
  const history = await api.history(config, report());
  assert.equal(history.map((h) => `${h.event} ${h.version}`), ['up 0001', 'up 0002', 'down 0002']);
  assert.ok(history.every((h) => h.appliedBy === 'postgres' && typeof h.clientHost === 'string' && h.runId.length === 36));
});

test('--schema keeps both tables in a schema whose name needs quoting', async ({ t }) => {
  const schema = 'dbvc "odd"; drop table x';
  const config = configFor(t.url, fixture('shop'), { schema });
  await api.upgrade(config, '0001', report());
  const rows = await t.db`select table_name from information_schema.tables where table_schema = ${schema} order by 1`;
  assert.equal(rows.map((r) => r.table_name), ['alembic_version', 'dbvc_history']);
  const status = await api.status(config, report());
  assert.is(status.current, '0001');
});

test('alembic_version moves only from the revision it holds: UPDATE and DELETE touch exactly one row', async ({ t }) => {
  await api.upgrade(configFor(t.url, fixture('shop')), '0001', report());
  const update = await rejection(t.db.begin((tx) => writeVersion(tx, 'public', '0002', '0003')));
  assert.is(update.code, 'state');
  assert.is(update.message, 'alembic_version did not hold 0002 when moving it to 0003: something else changed it');
  const remove = await rejection(t.db.begin((tx) => writeVersion(tx, 'public', '0003', null)));
  assert.is(remove.code, 'state');
});

// The move is pipelined with COMMIT, so it must abort the transaction by itself when alembic_version does not hold
// the revision the step starts from. A migration that moves alembic_version itself is the way to provoke it.
test('a migration whose own SQL moves alembic_version is rolled back whole, with a state error', async ({ t, dirs }) => {
  const dir = await copyFixture('shop');
  dirs.push(dir);
  const config = configFor(t.url, dir);
  await writeFile(join(dir, '0001_create_product.up.sql'), "CREATE TABLE early (id int);\nINSERT INTO alembic_version VALUES ('beef');\n");
  const fromBase = await rejection(api.upgrade(config, '0001', report()));
  assert.is(fromBase.code, 'state');
  assert.is(fromBase.message, 'alembic_version did not hold base when moving it to 0001: something else changed it');
  const [early] = await t.db`select to_regclass('early') as early`;
  assert.is(early.early, null);
  assert.is((await t.db`select version_num from alembic_version`).length, 0);
  assert.is((await t.db`select event from dbvc_history`).length, 0);

  await writeFile(join(dir, '0001_create_product.up.sql'), 'CREATE TABLE early (id int);\n');
  await writeFile(join(dir, '0002_add_orders.up.sql'), "CREATE TABLE later (id int);\nUPDATE alembic_version SET version_num = 'beef';\n");
  await api.upgrade(config, '0001', report());
  const update = await rejection(api.upgrade(config, '0002', report()));
  assert.is(update.code, 'state');
  assert.is(update.message, 'alembic_version did not hold 0001 when moving it to 0002: something else changed it');
  const [later] = await t.db`select to_regclass('later') as later`;
  assert.is(later.later, null);
  assert.equal((await t.db`select version_num from alembic_version`).map((r) => r.version_num), ['0001']);
  assert.equal((await t.db`select event, version_num from dbvc_history order by id`).map((r) => `${r.event} ${r.version_num}`), ['up 0001']);
});

test('a history row the server refuses fails the step as bookkeeping, not as the file, and nothing is applied', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  await api.upgrade(config, '0001', report());
  await t.db`alter table dbvc_history add constraint no_orders check (name <> 'add_orders')`;
  const error = await rejection(api.upgrade(config, '0002', report()));
  assert.is(error.code, 'sql');
  assert.match(error.message, /0002_add_orders\.up\.sql ran, but recording it in alembic_version and dbvc_history failed: .*no_orders/);
  assert.match(error.hint, /still at 0001/);
  assert.equal((await t.db`select version_num from alembic_version`).map((r) => r.version_num), ['0001']);
  const [orders] = await t.db`select to_regclass('orders') as orders`;
  assert.is(orders.orders, null);
});

test('the lock: a second run waits, then gives up naming the holder', async ({ t }) => {
  const holder = connect(t.url);
  try {
    await acquireLock(holder, 'public', 1000);
    const config = configFor(t.url, fixture('shop'), { lockTimeout: '500ms' });
    const error = await rejection(api.upgrade(config, undefined, report()));
    assert.is(error.code, 'lock');
    assert.is(error.message, 'another dbvc run holds the migration lock for schema "public"; gave up after 0.5 s');
    const [{ pid }] = await holder`select pg_backend_pid() as pid`;
    assert.match(error.lines[0], new RegExp(`^held by pid ${pid} \\(application "postgres.js"`));
    const tables = await t.db`select 1 from pg_tables where tablename = 'product'`;
    assert.is(tables.length, 0);
    await releaseLock(holder, 'public');
    const moved = await api.upgrade(config, undefined, report());
    assert.is(moved.to, '0004');
  } finally {
    await holder.end();
  }
});

test('the lock is released after a failed run', async ({ t }) => {
  await rejection(api.upgrade(configFor(t.url, fixture('failing')), undefined, report()));
  const locks = await t.db`
    select 1 from pg_locks where locktype = 'advisory'
      and database = (select oid from pg_database where datname = current_database())`;
  assert.is(locks.length, 0);
});

test.run();
