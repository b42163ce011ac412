// dbvc revision NAME --autogenerate against the suite's server: an edit of schema.sql becomes a pair that upgrade and
// downgrade run on a real database, that review passes, and after which check passes.
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { compareSnapshots } from '../../src/core/snapshot.js';
import { readSnapshot } from '../../src/review/snapshot.js';
import { capture, configFor, copyFixture, createDatabase, rejection, serverUrl, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dir: string }>('authoring/autogenerate');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dir = await copyFixture('shop');
});
test.after.each(async (context) => {
  await context.t.drop();
  await rm(context.dir, { recursive: true, force: true });
});

const options = () => ({ scratchUrl: serverUrl(), report: capture() });

const EDIT = `
ALTER TABLE public.product ADD COLUMN sku text;
CREATE INDEX product_sku_idx ON public.product (sku);
CREATE TABLE public.review (id int PRIMARY KEY, product_id int NOT NULL REFERENCES public.product (id), body text);
CREATE TYPE public.stars AS ENUM ('one', 'two', 'three');
ALTER TABLE public.review ADD COLUMN rating public.stars;
CREATE VIEW public.reviewed AS SELECT p.name, r.rating FROM public.product p JOIN public.review r ON r.product_id = p.id;
CREATE FUNCTION public.total(q int, price numeric) RETURNS numeric LANGUAGE sql AS $$ SELECT q * price $$;
ALTER TABLE public.orders DROP COLUMN note;
COMMENT ON TABLE public.review IS 'what customers say';
`;

test('an edited schema.sql becomes the next pair, with the new index of an existing table in a no-transaction pair after it: upgrade gives schema.sql, downgrade -2 the old head, check and review pass', async ({ t, dir }) => {
  const config = configFor(t.url, dir);
  await api.dump(config, options());
  await api.upgrade(config, undefined, { report: capture() });
  const before = await readSnapshot(t.db, 'public');
  await appendFile(join(dir, 'schema.sql'), EDIT);

  const result = await api.autogenerate(config, 'add reviews', options());
  assert.ok(result.files, 'a pair is written');
  assert.match(result.files!.up, /0005_add_reviews\.up\.sql$/);
  assert.match(result.concurrent!.up, /0006_add_reviews_concurrently\.up\.sql$/);
  assert.ok(result.changes.includes('added table public.review'));
  assert.equal(result.risks, ['alter table "public"."orders" drop column "note";']);
  assert.equal(result.renames, [], 'a dropped column alone is no rename');
  const up = await readFile(join(dir, '0005_add_reviews.up.sql'), 'utf8');
  assert.match(up, /^-- 0005_add_reviews: add reviews \(upgrade\)\n-- Drafted by dbvc revision --autogenerate/);
  assert.match(up, /-- DROPS DATA: what it drops is gone once this runs\nalter table "public"."orders" drop column "note";/);
  assert.not.match(up, /product_sku_idx/, 'the index of the existing table is not built in the transaction');
  assert.match(up, /CREATE UNIQUE INDEX review_pkey ON public.review/, 'an index of a new table stays: the table is empty');
  const down = await readFile(join(dir, '0005_add_reviews.down.sql'), 'utf8');
  assert.match(down, /-- DROPS DATA: what it drops is gone once this runs\ndrop table "public"."review";/);
  assert.not.match(down, /product_sku_idx/);
  const concurrentUp = await readFile(join(dir, '0006_add_reviews_concurrently.up.sql'), 'utf8');
  assert.match(concurrentUp, /^-- 0006_add_reviews_concurrently: add reviews concurrently \(upgrade\)\n-- Drafted by dbvc revision --autogenerate: new indexes on tables that exist, built without blocking writes; runs statement by statement, outside a transaction\.\n\n-- dbvc:no-transaction\n\nCREATE INDEX CONCURRENTLY product_sku_idx ON public\.product USING btree \(sku\);\n$/);
  assert.match(await readFile(join(dir, '0006_add_reviews_concurrently.down.sql'), 'utf8'), /\n-- dbvc:no-transaction\n\nDROP INDEX CONCURRENTLY IF EXISTS "public"."product_sku_idx";\n$/);

  const applied = await api.upgrade(config, undefined, { report: capture() });
  assert.equal(applied.steps.map((s) => s.version), ['0005', '0006']);
  const wanted = await api.check(config, options());
  assert.equal([wanted.exitCode, wanted.head], [0, '0006'], 'schema.sql equals the migrations again');
  const after = await readSnapshot(t.db, 'public');
  assert.ok(compareSnapshots(before, after).some((c) => c.name === 'public.review.rating'));
  await api.downgrade(config, '-2', { report: capture() });
  assert.equal(compareSnapshots(before, await readSnapshot(t.db, 'public')), [], 'downgrade -2 gives the old head back');

  const { report, exitCode } = await api.review(config, { range: '0004:0006', scratchUrl: serverUrl(), report: capture() });
  assert.equal(report.migrations.map((m) => m.down.reverts), [true, true]);
  assert.equal([exitCode, report.verdict], [0, 'ok'], 'review passes: squawk warns (drop column), no error');
  const rules = report.migrations.flatMap((m) => m.findings.map((f) => f.rule));
  assert.not.ok(rules.includes('require-concurrent-index-creation'), rules.join(', '));
  assert.not.ok(rules.includes('require-concurrent-index-deletion'), rules.join(', '));
});

test('a change that only adds an index to an existing table is one no-transaction pair', async ({ t, dir }) => {
  const config = configFor(t.url, dir);
  await api.dump(config, options());
  await appendFile(join(dir, 'schema.sql'), "CREATE INDEX orders_note_idx ON public.orders (note);\nCOMMENT ON INDEX public.orders_note_idx IS 'for search';\n");
  const result = await api.autogenerate(config, 'index notes', options());
  assert.equal([result.files, result.concurrent], [{ up: `${config.migrationsLabel}/0005_index_notes.up.sql`, down: `${config.migrationsLabel}/0005_index_notes.down.sql` }, null]);
  const up = await readFile(join(dir, '0005_index_notes.up.sql'), 'utf8');
  assert.match(up, /-- dbvc:no-transaction\n\nCREATE INDEX CONCURRENTLY orders_note_idx ON public\.orders USING btree \(note\);\n\nCOMMENT ON INDEX public\.orders_note_idx IS .*;\n$/);
  await api.upgrade(config, undefined, { report: capture() });
  assert.is((await api.check(config, options())).exitCode, 0);
  await api.downgrade(config, '-1', { report: capture() });
  const [{ index }] = await t.db`select to_regclass('orders_note_idx') as index`;
  assert.is(index, null);
});

test('a schema.sql equal to head writes nothing and says so; without schema.sql it is exit 2', async ({ t, dir }) => {
  const config = configFor(t.url, dir);
  const missing = await rejection(api.autogenerate(config, 'x', options()));
  assert.equal([missing.code, missing.hint], ['file', 'run dbvc dump to write it from the migrations, and commit it']);
  await api.dump(config, options());
  const result = await api.autogenerate(config, 'nothing', options());
  assert.equal(result, { files: null, concurrent: null, changes: [], risks: [], renames: [] });
  assert.not.ok((await readdir(dir)).some((f) => f.startsWith('0005')));
});

test('a column dropped and another added in one table is named as a possible rename, in the output and atop the up file', async ({ t, dir }) => {
  const config = configFor(t.url, dir);
  await api.dump(config, options());
  await appendFile(join(dir, 'schema.sql'), 'ALTER TABLE public.orders DROP COLUMN note;\nALTER TABLE public.orders ADD COLUMN remark text;\n');
  const result = await api.autogenerate(config, 'note to remark', options());
  const rename = "public.orders: column note dropped and remark added; if that is a rename, write ALTER TABLE public.orders RENAME COLUMN note TO remark; instead (the drafted pair loses the column's data)";
  assert.equal(result.renames, [rename]);
  const up = await readFile(join(dir, '0005_note_to_remark.up.sql'), 'utf8');
  assert.ok(up.includes(`-- POSSIBLE RENAME: ${rename}\n`), up);
  await api.upgrade(config, undefined, { report: capture() });
  assert.is((await api.check(config, options())).exitCode, 0);
});

test('--from-url: a development database changed by hand becomes the pair, schema.sql is rewritten as the new head, and the database is only read', async ({ t, dir }) => {
  const dev = await createDatabase();
  try {
    const devConfig = configFor(dev.url, dir);
    await api.upgrade(devConfig, undefined, { report: capture() });
    await dev.db.unsafe(`ALTER TABLE product ADD COLUMN sku text; CREATE INDEX product_sku_idx ON product (sku);
      CREATE TABLE review (id int PRIMARY KEY, product_id int NOT NULL REFERENCES product (id)); COMMENT ON TABLE review IS 'said'`);
    const [history] = await dev.db`select count(*)::int as n from dbvc_history`;
    const withPassword = new URL(dev.url);
    withPassword.password = 'from-url-s3cret';
    const config = configFor(t.url, dir);
    const report = capture();
    const result = await api.autogenerate(config, 'add sku', { fromUrl: withPassword.href, scratchUrl: serverUrl(), report });
    assert.equal(result.changes.filter((c) => !c.includes('public.review.')), [
      'added table public.review', 'added column public.product.sku: position 5, type text',
      'added index public.product_sku_idx: definition CREATE INDEX product_sku_idx ON public.product USING btree (sku)',
      'added index public.review_pkey: definition CREATE UNIQUE INDEX review_pkey ON public.review USING btree (id)',
      'added comment TABLE public.review: text said',
    ], 'the hand-made changes, and nothing of alembic_version or dbvc_history');
    assert.ok(report.lines.some((l) => /^desired schema \(--from-url\): .* \(read-only\)$/.test(l)), report.lines.join('\n'));
    assert.not.ok(JSON.stringify(report.lines).includes('from-url-s3cret'));
    const [after] = await dev.db`select count(*)::int as n from dbvc_history`;
    assert.is(after.n, history.n, 'the development database is only read');

    const schemaFile = await readFile(join(dir, 'schema.sql'), 'utf8');
    assert.match(schemaFile, /^-- The schema that the migrations in .* produce at 0006: written by dbvc dump/);
    assert.not.match(schemaFile, /alembic_version|dbvc_history/);
    assert.is((await api.check(config, options())).exitCode, 0, 'schema.sql equals the new head');
    assert.is((await api.dump(config, { ...options(), out: '-' })).text, schemaFile, 'the bytes dump writes');

    await api.upgrade(config, undefined, { report: capture() });
    const devSchema = await readSnapshot(dev.db, 'public');
    assert.equal(compareSnapshots(devSchema, await readSnapshot(t.db, 'public')), [], 'upgrade gives the development database\'s schema');
    await api.downgrade(config, '-2', { report: capture() });
    assert.ok(compareSnapshots(devSchema, await readSnapshot(t.db, 'public')).some((c) => c.name === 'public.review'));
    const same = await api.autogenerate(configFor(t.url, dir), 'nothing', { fromUrl: dev.url, scratchUrl: serverUrl(), report: capture() });
    assert.is(same.files, null, 'the database equals head now: nothing to write');
  } finally {
    await dev.drop();
  }
});

test.run();
