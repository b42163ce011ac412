// dbvc drift against the suite's server: a live database compared with what its recorded revision makes.
import { rm } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { capture, configFor, copyFixture, createDatabase, serverUrl, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dir: string }>('authoring/drift');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dir = await copyFixture('shop');
});
test.after.each(async (context) => {
  await context.t.drop();
  await rm(context.dir, { recursive: true, force: true });
});

const options = () => ({ scratchUrl: serverUrl(), report: capture() });

test('finds an index and a column made by hand, and only those; at an earlier revision, against that revision', async ({ t, dir }) => {
  const config = configFor(t.url, dir);
  await api.upgrade(config, '0003', { report: capture() });
  assert.equal(await api.drift(config, options()), { revision: '0003', differences: [], exitCode: 0 });
  await t.db.unsafe('CREATE INDEX orders_quantity_idx ON orders (quantity); ALTER TABLE product ADD COLUMN sku text');
  const result = await api.drift(config, options());
  assert.equal([result.exitCode, result.revision], [3, '0003']);
  assert.equal(result.differences.map((d) => d.message), [
    'local has column public.product.sku, which the migrations up to 0003 do not make',
    'local has index public.orders_quantity_idx, which the migrations up to 0003 do not make',
  ]);
  const [history] = await t.db`select count(*)::int as n from dbvc_history`;
  await api.drift(config, options());
  const [again] = await t.db`select count(*)::int as n from dbvc_history`;
  assert.is(again.n, history.n, 'read-only: nothing recorded');
});

test('a column dropped by hand is named the other way', async ({ t, dir }) => {
  const config = configFor(t.url, dir);
  await api.upgrade(config, undefined, { report: capture() });
  await t.db.unsafe('ALTER TABLE orders DROP COLUMN note CASCADE');
  const result = await api.drift(config, options());
  assert.ok(result.differences.some((d) => d.message === 'the migrations up to 0004 make column public.orders.note, which local lacks'), JSON.stringify(result.differences));
});

test.run();
