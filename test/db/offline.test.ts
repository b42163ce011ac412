import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { findPsql, runScript, snapshotLedger, snapshotSchema } from '../helpers/catalog.js';
import { capture, configFor, createDatabase, fixture, rejection, type TestDatabase } from '../helpers/db.js';

const test = suite<{ online: TestDatabase; offline: TestDatabase }>('offline');

test.before(() => {
  if (!findPsql()) console.log('  (psql not found: offline scripts run through the driver instead)');
});
test.before.each(async (context) => {
  context.online = await createDatabase();
  context.offline = await createDatabase();
});
test.after.each(async (context) => {
  await context.online.drop();
  await context.offline.drop();
});

const report = () => ({ report: capture() });

async function render(dir: string, direction: 'up' | 'down', range: string | undefined): Promise<string> {
  const config = configFor('postgres://unused@localhost/unused', dir);
  const script = await api.renderOffline(config, direction, range);
  return script.files.map((f) => f.text).join('\n');
}

async function runOffline(t: TestDatabase, script: string): Promise<void> {
  const result = await runScript(t.url, script, t.db);
  assert.is(result.code, 0, `the script failed through ${result.via}: ${result.stderr}`);
}

async function assertSame(online: TestDatabase, offline: TestDatabase): Promise<void> {
  assert.equal(await snapshotSchema(offline.db), await snapshotSchema(online.db), 'schemas differ');
  assert.equal(await snapshotLedger(offline.db), await snapshotLedger(online.db), 'alembic_version or history differ');
}

for (const set of ['shop', 'rich', 'unterminated', 'notx']) {
  test(`${set}: the offline script base:head leaves the database exactly as the online upgrade`, async ({ online, offline }) => {
    const dir = fixture(set);
    await api.upgrade(configFor(online.url, dir), undefined, report());
    await runOffline(offline, await render(dir, 'up', undefined));
    await assertSame(online, offline);
    const status = await api.status(configFor(offline.url, dir), report());
    assert.equal({ pending: status.pending, problems: status.problems }, { pending: [], problems: [] });
  });

  test(`${set}: downgrades and partial ranges match too`, async ({ online, offline }) => {
    const dir = fixture(set);
    const onlineConfig = configFor(online.url, dir);
    await api.upgrade(onlineConfig, '+1', report());
    await runOffline(offline, await render(dir, 'up', 'base:+1'));
    await assertSame(online, offline);
    await api.upgrade(onlineConfig, 'head', report());
    await runOffline(offline, await render(dir, 'up', '0001:head'));
    await assertSame(online, offline);
    await api.downgrade(onlineConfig, 'base', report());
    await runOffline(offline, await render(dir, 'down', 'head:base'));
    await assertSame(online, offline);
  });
}

test('file contents survive into the history row byte for byte', async ({ offline }) => {
  const dir = fixture('rich');
  await runOffline(offline, await render(dir, 'up', undefined));
  const rows = await offline.db`select version_num, up_sql, down_sql from dbvc_history order by id`;
  for (const row of rows) {
    const stem = (await readdir(dir)).find((f) => f.startsWith(row.version_num) && f.endsWith('.up.sql'))!;
    assert.is(row.up_sql, await readFile(join(dir, stem), 'utf8'));
    assert.is(row.down_sql, await readFile(join(dir, stem.replace('.up.sql', '.down.sql')), 'utf8'));
  }
  assert.ok(rows[1].up_sql.includes('$dbvc$'), 'the fixture holds the tag dbvc quotes with');
});

test('the guard aborts a script run at the wrong revision before it changes anything', async ({ offline }) => {
  const dir = fixture('shop');
  await api.upgrade(configFor(offline.url, dir), '0001', report());
  const before = await snapshotSchema(offline.db);
  const result = await runScript(offline.url, await render(dir, 'up', '0002:head'), offline.db);
  assert.is.not(result.code, 0);
  assert.match(result.stderr, /dbvc: test\/fixtures\/shop\/0003_index_orders\.up\.sql expects alembic_version to hold 0002, but it holds 0001/);
  assert.equal(await snapshotSchema(offline.db), before);
  const [{ version_num }] = await offline.db`select version_num from alembic_version`;
  assert.is(version_num, '0001');
});

test('the same files render the same bytes twice; no timestamps', async () => {
  const first = await render(fixture('rich'), 'up', undefined);
  const second = await render(fixture('rich'), 'up', undefined);
  assert.is(first, second);
  assert.not.match(first, /20\d\d-\d\d-\d\d/);
  assert.match(first, /^-- dbvc \S+ offline upgrade script\n-- target: local \(test\/fixtures\/rich\), schema public\n-- range: base -> 0003 \(3 migrations\)/);
  assert.match(first, /--   test\/fixtures\/rich\/0001_types\.up\.sql  sha256:[0-9a-f]{64}\n/);
  assert.match(first, /-- Running upgrade  -> 0001\n/);
  assert.match(first, /-- Running upgrade 0001 -> 0002\n/);
  const down = await render(fixture('rich'), 'down', '0003:base');
  assert.match(down, /-- Running downgrade 0001 -> \n/);
});

test('--out DIR/ writes one file per migration in execution order; running them in order equals the whole script', async ({ online, offline }) => {
  const out = await mkdtemp(join(tmpdir(), 'dbvc-out-'));
  try {
    const dir = fixture('shop');
    const config = configFor('postgres://unused@localhost/unused', dir);
    const script = await api.renderOffline(config, 'up', undefined);
    const written = await api.saveOffline(script, join(out, 'review') + '/', '/');
    assert.equal((await readdir(join(out, 'review'))).sort(), [
      '001_upgrade_0001_create_product.sql', '002_upgrade_0002_add_orders.sql', '003_upgrade_0003_index_orders.sql', '004_upgrade_0004_order_totals.sql',
    ]);
    assert.is(written.length, 4);
    for (const name of (await readdir(join(out, 'review'))).sort()) {
      await runOffline(offline, await readFile(join(out, 'review', name), 'utf8'));
    }
    await api.upgrade(configFor(online.url, dir), undefined, report());
    await assertSame(online, offline);
    const again = await rejection(api.saveOffline(script, join(out, 'review') + '/', '/'));
    assert.is(again.code, 'usage');
    assert.match(again.message, /is not empty$/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('bad offline input is a clear error', async () => {
  const cases: [string, 'up' | 'down', string | undefined, string, string][] = [
    ['shop', 'down', '0002', 'usage', 'an offline downgrade needs a range FROM:TO, including where the database starts'],
    ['shop', 'up', '0004:0002', 'usage', 'the range 0004:0002 (0004 -> 0002) goes the wrong way for upgrade'],
    ['shop', 'down', '0002:0004', 'usage', 'the range 0002:0004 (0002 -> 0004) goes the wrong way for downgrade'],
    ['shop', 'up', '0001:0009', 'usage', 'unknown revision "0009"'],
    ['irreversible', 'down', 'head:base', 'irreversible', 'cannot downgrade to base: a migration on the way has no down file'],
  ];
  for (const [set, direction, range, code, message] of cases) {
    const config = configFor('postgres://unused@localhost/unused', fixture(set));
    const error = await rejection(api.renderOffline(config, direction, range));
    assert.is(error.code, code);
    assert.is(error.message, message);
  }
});

test.run();
