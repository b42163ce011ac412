import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { DbvcError } from '../../src/core/errors.js';
import { capture, configFor, createDatabase, fixture, rejection, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase }>('runner');

test.before.each(async (context) => {
  context.t = await createDatabase();
});
test.after.each(async (context) => {
  await context.t.drop();
});

async function tables(t: TestDatabase): Promise<string[]> {
  const rows = await t.db`select tablename from pg_tables where schemaname = 'public' order by 1`;
  return rows.map((r) => r.tablename);
}

async function versionRows(t: TestDatabase): Promise<string[]> {
  return (await t.db`select version_num from alembic_version`).map((r) => r.version_num);
}

test('upgrade applies every migration in order and records each in alembic_version and dbvc_history', async ({ t }) => {
  const report = capture();
  const result = await api.upgrade(configFor(t.url, fixture('shop')), undefined, { report });
  assert.equal(result.steps.map((s) => s.version), ['0001', '0002', '0003', '0004']);
  assert.equal(result.to, '0004');
  assert.equal(await versionRows(t), ['0004']);
  assert.equal(await tables(t), ['alembic_version', 'dbvc_history', 'orders', 'product']);
  const history = await t.db`select event, version_num, from_version, to_version, up_checksum, up_sql, down_sql from dbvc_history order by id`;
  assert.equal(history.map((h) => [h.event, h.version_num, h.from_version, h.to_version]), [
    ['up', '0001', null, '0001'], ['up', '0002', '0001', '0002'], ['up', '0003', '0002', '0003'], ['up', '0004', '0003', '0004'],
  ]);
  assert.match(history[0].up_checksum, /^sha256:[0-9a-f]{64}$/);
  assert.match(history[1].up_sql, /RAISE NOTICE 'orders table ready'/);
  assert.equal(history[3].down_sql, 'DROP VIEW order_totals;\n');
  assert.equal(report.notices, ['NOTICE: orders table ready']);
});

test('alembic_version has exactly the DDL Alembic creates', async ({ t }) => {
  await api.upgrade(configFor(t.url, fixture('shop')), '1', { report: capture() });
  const columns = await t.db`
    select column_name, data_type, character_maximum_length, is_nullable
    from information_schema.columns where table_name = 'alembic_version'`;
  assert.equal(columns.map((c) => ({ ...c })), [{ column_name: 'version_num', data_type: 'character varying', character_maximum_length: 32, is_nullable: 'NO' }]);
  const constraints = await t.db`select conname, contype from pg_constraint where conrelid = 'alembic_version'::regclass`;
  assert.equal(constraints.map((c) => ({ ...c })), [{ conname: 'alembic_version_pkc', contype: 'p' }]);
});

test('a second upgrade at head does nothing', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  await api.upgrade(config, undefined, { report: capture() });
  const again = await api.upgrade(config, undefined, { report: capture() });
  assert.equal(again.steps, []);
  assert.equal(again.to, '0004');
  const [{ count }] = await t.db`select count(*)::int from dbvc_history`;
  assert.is(count, 4);
});

test('relative and named targets: +N, id, stem, head-N, -N, id-N, base', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  const report = capture();
  const at = async () => (await versionRows(t))[0] ?? 'base';
  await api.upgrade(config, '+1', { report });
  assert.is(await at(), '0001');
  await api.upgrade(config, '3', { report });
  assert.is(await at(), '0003');
  await api.downgrade(config, '-2', { report });
  assert.is(await at(), '0001');
  await api.upgrade(config, 'head-1', { report });
  assert.is(await at(), '0003');
  await api.upgrade(config, '0004_order_totals', { report });
  assert.is(await at(), '0004');
  await api.downgrade(config, '0004-3', { report });
  assert.is(await at(), '0001');
  await api.downgrade(config, 'base', { report });
  assert.is(await at(), 'base');
  assert.equal(await tables(t), ['alembic_version', 'dbvc_history']);
});

test('impossible targets are refused with what was possible, and nothing runs', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  await api.upgrade(config, '0002', { report: capture() });
  const cases: [() => Promise<unknown>, string, RegExp][] = [
    [() => api.upgrade(config, '+3', { report: capture() }), '+3 goes past head (0004)', /at most \+2 is possible/],
    [() => api.downgrade(config, '-3', { report: capture() }), '-3 goes below base', /at most -2 is possible/],
    [() => api.upgrade(config, '0001', { report: capture() }), 'cannot upgrade to 0001: the database is at 0002, which is above it', /dbvc downgrade 0001/],
    [() => api.downgrade(config, '0004', { report: capture() }), 'cannot downgrade to 0004: the database is at 0002, which is below it', /dbvc upgrade 0004/],
    [() => api.upgrade(config, '0009', { report: capture() }), 'unknown revision "0009"', /known: 0001\.\.0004 \(head\)/],
    [() => api.upgrade(config, '0001; DROP TABLE product', { report: capture() }), 'unknown revision "0001; DROP TABLE product"', /known/],
  ];
  for (const [run, message, hint] of cases) {
    const error = await rejection(run());
    assert.instance(error, DbvcError);
    assert.is(error.code, 'usage');
    assert.is(error.message, message);
    assert.match(error.hint, hint);
  }
  assert.equal(await versionRows(t), ['0002']);
  const [{ count }] = await t.db`select count(*)::int from dbvc_history`;
  assert.is(count, 2);
});

test('a failing migration is rolled back alone, located at file:line:column, and the database stays at the last good revision', async ({ t }) => {
  const config = configFor(t.url, fixture('failing'));
  const error = await rejection(api.upgrade(config, undefined, { report: capture() }));
  assert.is(error.code, 'sql');
  assert.is(error.message, 'test/fixtures/failing/0002_broken.up.sql:5:10: type "textt" does not exist');
  assert.equal(error.lines, ['5 |     name TEXTT NOT NULL);', '  |          ^', 'SQLSTATE 42704']);
  assert.match(error.hint, /rolled back and the database is at 0001$/);
  assert.equal(await versionRows(t), ['0001']);
  assert.equal(await tables(t), ['alembic_version', 'dbvc_history', 'product']);
});

test('a runtime error without a position names the line of the statement', async ({ t }) => {
  const error = await rejection(api.upgrade(configFor(t.url, fixture('runtime')), undefined, { report: capture() }));
  assert.is(error.code, 'sql');
  assert.is(error.message, 'test/fixtures/runtime/0002_divide.up.sql:3: division by zero');
  assert.equal(error.lines, ['3 |    SELECT 1 / 0;', 'SQLSTATE 22012']);
  assert.equal(await versionRows(t), ['0001']);
});

test('SQLSTATE, detail and hint of a failure are all shown', async ({ t }) => {
  const config = configFor(t.url, fixture('detailed'));
  const duplicate = await rejection(api.upgrade(config, undefined, { report: capture() }));
  assert.is(duplicate.message, 'test/fixtures/detailed/0002_duplicate.up.sql:2: duplicate key value violates unique constraint "product_pkey"');
  assert.equal(duplicate.lines, ["2 | INSERT INTO product (id, name, price) VALUES (1, 'again', 2);", 'SQLSTATE 23505', 'detail: Key (id)=(1) already exists.']);
  const [{ count }] = await t.db`select count(*)::int from product`;
  assert.is(count, 0, 'the replay that found the statement was rolled back');
  await api.stamp(config, '0002', false, { report: capture() }); // mark 0002 applied without running it
  const hinted = await rejection(api.upgrade(config, '0003', { report: capture() }));
  assert.is(hinted.message, 'test/fixtures/detailed/0003_hinted.up.sql:1: prices must be reviewed');
  assert.equal(hinted.lines, ['1 | DO $$', 'SQLSTATE P0001', 'detail: found 3 unpriced products', 'context: PL/pgSQL function inline_code_block line 3 at RAISE']);
  assert.match(hinted.hint, /^run the pricing job first; the migration was rolled back and the database is at 0002$/);
});

test('a downgrade across a migration without a down file stops before running anything', async ({ t }) => {
  const config = configFor(t.url, fixture('irreversible'));
  await api.upgrade(config, undefined, { report: capture() });
  const error = await rejection(api.downgrade(config, 'base', { report: capture() }));
  assert.is(error.code, 'irreversible');
  assert.is(error.message, 'cannot downgrade to base: a migration on the way has no down file');
  assert.equal(error.lines, ['missing: test/fixtures/irreversible/0002_backfill.down.sql']);
  assert.equal(await versionRows(t), ['0003']);
  assert.ok((await tables(t)).includes('second'), '0003 was not reverted');
  await api.downgrade(config, '0002', { report: capture() });
  assert.equal(await versionRows(t), ['0002']);
});

test('a downgrade reaches base by DELETE and leaves an empty alembic_version', async ({ t }) => {
  const config = configFor(t.url, fixture('shop'));
  await api.upgrade(config, undefined, { report: capture() });
  const result = await api.downgrade(config, 'base', { report: capture() });
  assert.equal(result.steps.map((s) => `${s.direction} ${s.version}`), ['down 0004', 'down 0003', 'down 0002', 'down 0001']);
  assert.equal(await versionRows(t), []);
  const events = await t.db`select event, from_version, to_version from dbvc_history where event = 'down' order by id`;
  assert.equal(events.map((e) => `${e.from_version}->${e.to_version ?? 'base'}`), ['0004->0003', '0003->0002', '0002->0001', '0001->base']);
});

test.run();
