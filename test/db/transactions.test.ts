import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { capture, configFor, connect, createDatabase, fixture, rejection, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dir: string }>('transactions');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dir = await mkdtemp(join(tmpdir(), 'dbvc-tx-'));
  await cp(join(fixture('shop'), '0001_create_product.up.sql'), join(context.dir, '0001_create_product.up.sql'));
  await cp(join(fixture('shop'), '0001_create_product.down.sql'), join(context.dir, '0001_create_product.down.sql'));
});
test.after.each(async (context) => {
  await context.t.drop();
  await rm(context.dir, { recursive: true, force: true });
});

const report = () => ({ report: capture() });

async function write(dir: string, name: string, text: string): Promise<void> {
  await writeFile(join(dir, name), text);
}

async function versionOf(t: TestDatabase): Promise<string> {
  const rows = await t.db`select version_num from alembic_version`;
  return rows[0]?.version_num ?? 'base';
}

const NO_TX = '-- dbvc:no-transaction\n';

test('a no-transaction file runs statement by statement: CREATE and DROP INDEX CONCURRENTLY work', async ({ t, dir }) => {
  await write(dir, '0002_index.up.sql', `${NO_TX}CREATE INDEX CONCURRENTLY product_name_idx ON product (name);\nCREATE INDEX CONCURRENTLY product_price_idx ON product (price);\n`);
  await write(dir, '0002_index.down.sql', `${NO_TX}DROP INDEX CONCURRENTLY product_price_idx;\nDROP INDEX CONCURRENTLY product_name_idx;\n`);
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  const indexes = await t.db`select indexname from pg_indexes where tablename = 'product' order by 1`;
  assert.equal(indexes.map((i) => i.indexname), ['product_name_idx', 'product_pkey', 'product_price_idx']);
  assert.is(await versionOf(t), '0002');
  const [row] = await t.db`select event, up_sql from dbvc_history where version_num = '0002'`;
  assert.is(row.event, 'up');
  await api.downgrade(config, '-1', report());
  const left = await t.db`select indexname from pg_indexes where tablename = 'product'`;
  assert.equal(left.map((i) => i.indexname), ['product_pkey']);
});

test('statements that refuse transactions, transaction control and COPY FROM STDIN are refused before anything runs', async ({ t, dir }) => {
  await write(dir, '0002_index.up.sql', '-- forgot the directive\nCREATE TABLE x (id int);\nCREATE INDEX CONCURRENTLY x_idx ON x (id);\n');
  await write(dir, '0003_begin.up.sql', 'BEGIN;\nCREATE TABLE y (id int);\nCOMMIT;\n');
  await write(dir, '0004_copy.up.sql', 'CREATE TABLE z (id int);\nCOPY z FROM STDIN;\n');
  const error = await rejection(api.upgrade(configFor(t.url, dir), undefined, report()));
  assert.is(error.code, 'file');
  const label = configFor(t.url, dir).migrationsLabel;
  const fixTx = '  fix: remove it; for statements that cannot run in a transaction use -- dbvc:no-transaction in their own file';
  assert.equal(error.lines, [
    `${label}/0002_index.up.sql:3 holds CREATE INDEX CONCURRENTLY, which cannot run inside a transaction block`,
    '  fix: add "-- dbvc:no-transaction" to the leading comments of this file (it then runs statement by statement); keep such statements in a file of their own',
    `${label}/0003_begin.up.sql:1 holds BEGIN: dbvc runs each file in its own transaction, and this would end or nest it`,
    fixTx,
    `${label}/0003_begin.up.sql:3 holds COMMIT: dbvc runs each file in its own transaction, and this would end or nest it`,
    fixTx,
    `${label}/0004_copy.up.sql:2 holds COPY ... STDIN (or STDOUT), which needs psql to stream the data`,
    '  fix: use INSERT statements, or COPY from a file on the database server',
  ]);
  const tables = await t.db`select 1 from pg_tables where schemaname = 'public'`;
  assert.is(tables.length, 0, 'nothing ran');
});

test('no-transaction failures are located: syntax errors at file:line:column, runtime errors at file:line', async ({ t, dir }) => {
  await write(dir, '0002_bad.up.sql', `${NO_TX}CREATE INDEX CONCURRENTLY ok_idx ON product (name);\n\nCREATE INDEX CONCURENTLY bad_idx ON product (price);\n`);
  const config = configFor(t.url, dir);
  const syntax = await rejection(api.upgrade(config, undefined, report()));
  assert.is(syntax.code, 'sql');
  assert.is(syntax.message, `${config.migrationsLabel}/0002_bad.up.sql:4:26: syntax error at or near "bad_idx"`);
  assert.equal(syntax.lines.slice(0, 3), ['4 | CREATE INDEX CONCURENTLY bad_idx ON product (price);', '  |                          ^', 'SQLSTATE 42601']);
  await t.db`drop index ok_idx`;
  await write(dir, '0002_bad.up.sql', `${NO_TX}SELECT 1;\n  SELECT 1 / 0;\n`);
  const runtime = await rejection(api.upgrade(config, '0002', { ...report(), restart: true }));
  assert.is(runtime.message, `${config.migrationsLabel}/0002_bad.up.sql:3: division by zero`);
  assert.equal(runtime.lines.slice(0, 2), ['3 |   SELECT 1 / 0;', 'SQLSTATE 22012']);
});

test('a no-transaction file failing part-way is recorded; every command refuses until --resume, stamp or --restart', async ({ t, dir }) => {
  await t.db`create table log (n int)`;
  await write(dir, '0002_steps.up.sql', `${NO_TX}INSERT INTO log VALUES (1);\nINSERT INTO log VALUES (2);\nINSERT INTO log VALUES (1 / 0);\nINSERT INTO log VALUES (4);\n`);
  await write(dir, '0003_after.up.sql', 'CREATE TABLE after_steps (id int);\n');
  const config = configFor(t.url, dir);
  const failed = await rejection(api.upgrade(config, undefined, report()));
  assert.is(failed.code, 'sql');
  assert.is(failed.message, `${config.migrationsLabel}/0002_steps.up.sql:4: division by zero`);
  assert.match(failed.hint, /statements 1-2 ran and stay applied; fix the file and run dbvc upgrade --resume/);
  assert.is(await versionOf(t), '0001');
  const [event] = await t.db`select event, failed_statement, note from dbvc_history where event = 'failed'`;
  assert.equal({ ...event }, {
    event: 'failed', failed_statement: 3,
    note: 'statement 3 of 4 (line 4) failed: division by zero; statements 1-2 ran; alembic_version was left at 0001',
  });

  const status = await api.status(config, report());
  assert.is(status.problems.length, 1);
  assert.match(status.problems[0].message, /0002_steps\.up\.sql \(no-transaction\) stopped part-way at statement 3 on .*: statements 1-2 ran, the rest did not$/);
  assert.match(status.problems[0].hint!, /dbvc upgrade --resume .*dbvc stamp 0002.*dbvc upgrade --restart/);
  const refused = await rejection(api.upgrade(config, undefined, report()));
  assert.is(refused.code, 'state');

  await write(dir, '0002_steps.up.sql', `${NO_TX}INSERT INTO log VALUES (1);\nINSERT INTO log VALUES (2);\nINSERT INTO log VALUES (3);\nINSERT INTO log VALUES (4);\n`);
  const resumed = await api.upgrade(config, undefined, { ...report(), resume: true });
  assert.equal(resumed.steps.map((s) => s.version), ['0002', '0003']);
  const log = await t.db`select n from log order by n`;
  assert.equal(log.map((r) => r.n), [1, 2, 3, 4], 'statements 1 and 2 ran once');
  assert.equal((await api.status(config, report())).problems, []);
});

test('--resume refuses when a statement that already ran was changed; stamp and --restart resolve too', async ({ t, dir }) => {
  await t.db`create table log (n int)`;
  await write(dir, '0002_steps.up.sql', `${NO_TX}INSERT INTO log VALUES (1);\nINSERT INTO log VALUES (1 / 0);\n`);
  const config = configFor(t.url, dir);
  await rejection(api.upgrade(config, undefined, report()));
  await write(dir, '0002_steps.up.sql', `${NO_TX}INSERT INTO log VALUES (10);\nINSERT INTO log VALUES (2);\n`);
  const changed = await rejection(api.upgrade(config, undefined, { ...report(), resume: true }));
  assert.is(changed.code, 'usage');
  assert.is(changed.message, `cannot resume ${config.migrationsLabel}/0002_steps.up.sql: statement 1, which already ran, changed`);
  const nothing = await rejection(api.downgrade(config, 'base', { ...report(), resume: true }));
  assert.match(nothing.message, /^nothing to resume or restart/);

  await t.db`delete from log`;
  const restarted = await api.upgrade(config, undefined, { ...report(), restart: true });
  assert.equal(restarted.steps.map((s) => s.version), ['0002']);
  assert.equal((await t.db`select n from log order by n`).map((r) => r.n), [2, 10]);

  await api.downgrade(config, '0001', report()).catch(() => undefined);
  await write(dir, '0002_steps.up.sql', `${NO_TX}INSERT INTO log VALUES (1);\nINSERT INTO log VALUES (1 / 0);\n`);
  await api.stamp(config, '0001', false, report());
  await rejection(api.upgrade(config, undefined, report()));
  await api.stamp(config, '0002', false, report());
  assert.equal((await api.status(config, report())).problems, [], 'stamp resolved the failure');
});

test('--single-transaction applies all or nothing and refuses no-transaction files', async ({ t, dir }) => {
  await write(dir, '0002_a.up.sql', 'CREATE TABLE a (id int);\n');
  await write(dir, '0003_b.up.sql', 'CREATE TABLE b (id int);\nSELECT 1 / 0;\n');
  const config = configFor(t.url, dir);
  const error = await rejection(api.upgrade(config, undefined, { ...report(), singleTransaction: true }));
  assert.is(error.code, 'sql');
  assert.is(error.message, `${config.migrationsLabel}/0003_b.up.sql:2: division by zero`);
  assert.match(error.hint, /the single transaction was rolled back: nothing was applied and the database is still at base$/);
  const tables = await t.db`select tablename from pg_tables where schemaname = 'public' order by 1`;
  assert.equal(tables.map((r) => r.tablename), ['alembic_version', 'dbvc_history'], 'none of the migrations');
  assert.is(await versionOf(t), 'base');
  const [{ count }] = await t.db`select count(*)::int from dbvc_history`;
  assert.is(count, 0);
  await write(dir, '0003_b.up.sql', 'CREATE TABLE b (id int);\n');
  await write(dir, '0004_c.up.sql', `${NO_TX}CREATE INDEX CONCURRENTLY b_idx ON b (id);\n`);
  const bare = await rejection(api.upgrade(config, undefined, { ...report(), singleTransaction: true }));
  assert.is(bare.code, 'usage');
  assert.is(bare.message, `--single-transaction cannot include ${config.migrationsLabel}/0004_c.up.sql: it asks for dbvc:no-transaction`);
  const result = await api.upgrade(config, '0003', { ...report(), singleTransaction: true });
  assert.equal(result.steps.map((s) => s.version), ['0001', '0002', '0003']);
  assert.is(await versionOf(t), '0003');
});

test('--ddl-lock-timeout gives up on a blocked migration, retries with a pause, and names the lock holder', async ({ t, dir }) => {
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, report());
  await write(dir, '0002_alter.up.sql', 'ALTER TABLE product ADD COLUMN sku text;\n');
  const holder = connect(t.url);
  const retries: number[] = [];
  try {
    const reserved = await holder.reserve();
    await reserved`begin`;
    await reserved`lock table product in access share mode`;
    const [{ pid }] = await reserved`select pg_backend_pid() as pid`;
    const blocked = configFor(t.url, dir, { ddlLockTimeout: '200ms', ddlLockRetries: '1' });
    const reporter = { report: { ...capture(), retry: (_s: unknown, attempt: number) => retries.push(attempt) } };
    const error = await rejection(api.upgrade(blocked, undefined, reporter));
    assert.is(error.code, 'sql');
    assert.is(error.message, `${config.migrationsLabel}/0002_alter.up.sql:1: canceling statement due to lock timeout`);
    assert.ok(error.lines.includes('waited 0.2 s for a lock, 2 attempts'), error.lines.join('\n'));
    assert.ok(error.lines.some((l: string) => l.startsWith(`lock held by pid ${pid} `) && l.endsWith(' on product')), error.lines.join('\n'));
    assert.equal(retries, [1]);
    assert.is(await versionOf(t), '0001');
    setTimeout(() => void reserved`commit`.then(() => reserved.release()), 500);
    const moved = await api.upgrade(configFor(t.url, dir, { ddlLockTimeout: '200ms', ddlLockRetries: '3' }), undefined, report());
    assert.equal(moved.steps.map((s) => s.version), ['0002']);
  } finally {
    await holder.end();
  }
});

test('a failed CREATE UNIQUE INDEX CONCURRENTLY names the INVALID index it left and says to drop it before --resume', async ({ t, dir }) => {
  await write(dir, '0002_dupes.up.sql', "INSERT INTO product (name, price) VALUES ('a', 1), ('a', 2);\n");
  await write(dir, '0003_unique.up.sql', `${NO_TX}CREATE INDEX CONCURRENTLY product_price_idx ON product (price);\nCREATE UNIQUE INDEX CONCURRENTLY product_name_key ON product (name);\n`);
  const config = configFor(t.url, dir);
  const failed = await rejection(api.upgrade(config, undefined, report()));
  assert.is(failed.code, 'sql');
  assert.match(failed.message, /0003_unique\.up\.sql:3: could not create unique index "product_name_key"/);
  assert.is(failed.hint, 'statement 1 ran and stays applied; the failed build left the INVALID index public.product_name_key: drop it first (DROP INDEX CONCURRENTLY public.product_name_key;), then fix the file and run dbvc upgrade --resume (dbvc status lists the other ways out)');
  await t.db`delete from product where price = 2`;
  await t.db.unsafe('drop index concurrently public.product_name_key');
  const resumed = await api.upgrade(config, undefined, { ...report(), resume: true });
  assert.equal(resumed.steps.map((s) => s.version), ['0003']);
});

test.run();
