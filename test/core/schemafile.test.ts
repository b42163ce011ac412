import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addHeader, assembleSchema, explainDifference, findPossibleRenames, leaveOutIndexDrops, renderMigrationBody, splitConcurrentIndexes, tableOfIndex } from '../../src/core/schemafile.js';

const test = suite('core/schemafile');

const NO_FILL = { sequences: [], comments: [] };

test('ends every statement with a semicolon (migra leaves CREATE DOMAIN open) and writes the header as comments', () => {
  const text = assembleSchema(['one line.', ''], ['create domain "public"."d"\nas integer', 'create table "public"."t" (x int);'], NO_FILL);
  assert.is(text, '-- one line.\n--\n\ncreate domain "public"."d"\nas integer;\n\ncreate table "public"."t" (x int);\n');
});

test('moves domains before the first table: migra creates them after the tables that use them', () => {
  const statements = ['create type "public"."e" as enum (\'a\');', 'create table "public"."t" (v "public"."d");', 'create index i on t (v);', 'create domain "public"."d" as integer'];
  const text = assembleSchema([], statements, NO_FILL);
  const order = text.split('\n\n').map((s) => s.split(' ')[1]);
  assert.equal(order, ['type', 'domain', 'table', 'index']);
});

test('gives a bare CREATE SEQUENCE the options of the head snapshot; other sequences stay as written', () => {
  const sequences = [{ kind: 'sequence', name: 'public.ticket_seq', props: { type: 'bigint', start: '100', increment: '5', min: '1', max: '1000', cycle: 'true', 'owned by': '' } }];
  const text = assembleSchema([], ['create sequence "public"."ticket_seq";', 'create sequence "public"."other";'], { sequences, comments: [] });
  assert.is(text, 'create sequence "public"."ticket_seq" as bigint increment by 5 minvalue 1 maxvalue 1000 start with 100 cycle;\n\ncreate sequence "public"."other";\n');
});

test('adds the comments last, after everything they may name', () => {
  const text = assembleSchema([], ['create table "public"."t" (x int);'], { sequences: [], comments: ["COMMENT ON TABLE public.t IS 'x';"] });
  assert.ok(text.endsWith("(x int);\n\nCOMMENT ON TABLE public.t IS 'x';\n"));
});

test('names each difference with the command that settles it, both ways', () => {
  const column = { kind: 'column', name: 'public.product.sku', detail: 'type text' };
  assert.is(explainDifference({ change: 'added', ...column }, ''), 'schema.sql has column public.product.sku, the migrations do not: run dbvc revision NAME --autogenerate');
  assert.is(explainDifference({ change: 'removed', ...column }, ' --db aiven'), 'the migrations have column public.product.sku, schema.sql does not: run dbvc dump --db aiven');
  assert.is(explainDifference({ change: 'changed', ...column, detail: 'type: integer -> bigint' }, ''),
    "column public.product.sku differs (the migrations -> schema.sql: type: integer -> bigint): run dbvc dump to take the migrations', or dbvc revision NAME --autogenerate to make schema.sql's");
});

test('a generated body marks what drops rows (a table, a column) and type changes, not views, indexes or constraints', () => {
  const body = renderMigrationBody([
    'drop view if exists "public"."v";', 'alter table "public"."t" drop constraint "t_pkey";', 'alter table "public"."t" drop column "note";',
    'alter table "public"."t" alter column "n" set data type bigint using "n"::bigint;', 'alter table "public"."t" alter column "n" type int;', 'drop table "public"."old";',
  ], NO_FILL);
  assert.equal(body.risks, [
    'alter table "public"."t" drop column "note";', 'alter table "public"."t" alter column "n" set data type bigint using "n"::bigint;',
    'alter table "public"."t" alter column "n" type int;', 'drop table "public"."old";',
  ]);
  assert.match(body.text, /-- DROPS DATA: what it drops is gone once this runs\ndrop table "public"."old";\n$/);
  assert.is(body.statements.length, 6);
  assert.is(renderMigrationBody([], NO_FILL).text, '');
});

test('a column dropped and one added in the same table is named as a possible rename, with the RENAME COLUMN to write', () => {
  const change = (kind: 'added' | 'removed', name: string) => ({ change: kind, kind: 'column', name, detail: 'text' });
  const notes = findPossibleRenames([
    change('removed', 'public.product.sku'), change('added', 'public.product.code'),
    change('removed', 'public.orders.note'), change('added', 'public.invoice.note'), // other tables: no rename
    { change: 'added', kind: 'index', name: 'public.product_code_idx', detail: '' },
  ]);
  assert.equal(notes, ["public.product: column sku dropped and code added; if that is a rename, write ALTER TABLE public.product RENAME COLUMN sku TO code; instead (the drafted pair loses the column's data)"]);
  assert.equal(findPossibleRenames([change('removed', 'public.product.sku')]), []);
});

test('splitConcurrentIndexes: a new index on an existing table becomes CREATE INDEX CONCURRENTLY, its drop leaves the down', () => {
  const up = [
    'alter table "public"."product" add column "sku" text;',
    'CREATE UNIQUE INDEX "Sku Idx" ON public.product USING btree (sku);',
    'CREATE INDEX review_idx ON public.review USING btree (body);',
    'CREATE UNIQUE INDEX product_code_key ON public.product USING btree (code);',
    'alter table "public"."product" add constraint "product_code_key" UNIQUE using index "product_code_key";',
    'CREATE INDEX part_idx ON public.parted USING btree (x);',
  ];
  const down = ['drop index if exists "public"."Sku Idx";', 'drop index if exists "public"."review_idx";', 'alter table "public"."product" drop column "sku";'];
  const split = splitConcurrentIndexes(up, down, new Set(['public.product']));
  assert.equal(split.concurrentUp, ['CREATE UNIQUE INDEX CONCURRENTLY "Sku Idx" ON public.product USING btree (sku);']);
  assert.equal(split.concurrentDown, ['DROP INDEX CONCURRENTLY IF EXISTS "public"."Sku Idx";']);
  assert.equal(split.up, [up[0], up[2], up[3], up[4], up[5]], 'on a new table, adopted by a constraint, or on a partitioned table: as migra wrote it');
  assert.equal(split.down, [down[1], down[2]]);
  assert.equal(splitConcurrentIndexes(up, down, new Set()), { up, down, concurrentUp: [], concurrentDown: [] });
});

test('addHeader puts comment lines and a blank line before a text, and nothing for no header', () => {
  assert.is(addHeader(['a', 'b'], 'x;\n'), '-- a\n-- b\n\nx;\n');
  assert.is(addHeader([], 'x;\n'), 'x;\n');
});

test('leaveOutIndexDrops drops only the DROP INDEX of the indexes named; tableOfIndex reads the table of a definition', () => {
  const statements = ['drop index if exists "public"."review_pkey";', 'drop index if exists "public"."other";', 'drop table "public"."review";'];
  assert.equal(leaveOutIndexDrops(statements, new Set(['public.review_pkey'])), [statements[1], statements[2]]);
  assert.is(tableOfIndex('CREATE UNIQUE INDEX review_pkey ON public.review USING btree (id)'), 'public.review');
  assert.is(tableOfIndex('CREATE INDEX i ON ONLY "My Schema"."T x" USING btree (a)'), 'My Schema.T x');
  assert.is(tableOfIndex('nonsense'), null);
});

test.run();
