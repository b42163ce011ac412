// dbvc dump and check against the suite's server as --scratch-url: schema.sql made, verified, and compared.
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { diffDatabases } from '../../src/authoring/migra.js';
import { loadSchema, readHeadSchema, withScratch } from '../../src/authoring/schema.js';
import { compareSnapshots } from '../../src/core/snapshot.js';
import { loadMigrations } from '../../src/fs.js';
import { capture, configFor, copyFixture, rejection, serverUrl } from '../helpers/db.js';

const test = suite('authoring/dump');

const temps: string[] = [];
test.after(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function project(fixtureName: string): Promise<string> {
  const dir = await copyFixture(fixtureName);
  temps.push(dir);
  return dir;
}

/** A migrations folder holding one up file (and its down) with `sql`. */
async function folderWith(sql: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbvc-authoring-'));
  temps.push(dir);
  await writeFile(join(dir, '0001_start.up.sql'), sql);
  await writeFile(join(dir, '0001_start.down.sql'), '-- nothing\n');
  return dir;
}

const options = () => ({ scratchUrl: serverUrl(), report: capture() });
const config = (dir: string) => configFor('postgres://unused@localhost/unused', dir);

/** The differences between what the migrations in `dir` make and what `text` makes on an empty database. */
async function differencesOf(dir: string, text: string) {
  const c = config(dir);
  const migrations = await loadMigrations(c.migrationsDir, c.migrationsLabel);
  return withScratch(c, options(), async (scratch) => compareSnapshots(await readHeadSchema(scratch, migrations, c), await loadSchema(scratch, text, 'schema', c)));
}

/** migra's own DDL from an empty database to what the migrations in `dir` make, joined as its .sql would be. */
async function migraAlone(dir: string): Promise<string> {
  const c = config(dir);
  const migrations = await loadMigrations(c.migrationsDir, c.migrationsLabel);
  return withScratch(c, options(), async (scratch) => {
    const [empty, head] = [await scratch.prepare([]), await scratch.prepare(migrations)];
    try {
      return (await diffDatabases(scratch.urlOf(empty.name), scratch.urlOf(head.name))).join('\n\n');
    } finally {
      await Promise.all([empty.drop(), head.drop()]);
    }
  });
}

for (const name of ['shop', 'rich', 'review-locks']) {
  test(`${name}: dump is deterministic (two runs, same bytes), and schema.sql loaded into an empty database equals head`, async () => {
    const dir = await project(name);
    const first = await api.dump(config(dir), options());
    const bytes = await readFile(join(dir, 'schema.sql'));
    const second = await api.dump(config(dir), { ...options(), out: '-' });
    assert.is(second.path, null);
    assert.is(second.text, bytes.toString('utf8'));
    assert.is(first.text, second.text);
    assert.equal(await differencesOf(dir, first.text), []);
    assert.match(first.text, /^-- The schema that the migrations in .* produce at \d{4}: written by dbvc dump, not a migration\.\n/);
    assert.not.match(first.text, /alembic_version|dbvc_history/);
  });
}

test('gap: migra creates a domain after the table that uses it (and leaves it unterminated); dbvc moves it first', async () => {
  const dir = await folderWith('CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);\nCREATE TABLE t (v positive_int);\n');
  const error = await rejection(differencesOf(dir, await migraAlone(dir)));
  assert.is(error.code, 'sql', 'migra alone does not load');
  const { text } = await api.dump(config(dir), { ...options(), out: '-' });
  assert.ok(text.indexOf('create domain') < text.indexOf('create table'));
});

test('gap: migra loses a sequence\'s START and INCREMENT; dbvc writes them from the catalog', async () => {
  const dir = await folderWith('CREATE SEQUENCE ticket_seq START 100 INCREMENT 5 MAXVALUE 100000 CYCLE;\n');
  const alone = await differencesOf(dir, await migraAlone(dir));
  assert.equal(alone.map((d) => [d.change, d.kind, d.name]), [['changed', 'sequence', 'public.ticket_seq']]);
  const { text } = await api.dump(config(dir), { ...options(), out: '-' });
  assert.match(text, /create sequence "public"."ticket_seq" as bigint increment by 5 minvalue 1 maxvalue 100000 start with 100 cycle;/);
});

test('gap: migra drops COMMENT ON; dbvc adds the comments of tables, columns, views and functions', async () => {
  const dir = await folderWith([
    'CREATE TABLE t (x int);', "COMMENT ON TABLE t IS 'People — ünïcödé';", "COMMENT ON COLUMN t.x IS 'it''s x';",
    'CREATE VIEW v AS SELECT x FROM t;', "COMMENT ON VIEW v IS 'a view';", 'CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;',
    "COMMENT ON FUNCTION f(int) IS 'identity';", '',
  ].join('\n'));
  const alone = await differencesOf(dir, await migraAlone(dir));
  assert.equal(alone.map((d) => [d.change, d.kind]), [['removed', 'comment'], ['removed', 'comment'], ['removed', 'comment'], ['removed', 'comment']]);
  const { text } = await api.dump(config(dir), { ...options(), out: '-' });
  assert.ok(text.includes('COMMENT ON TABLE public.t IS $dbvc$People — ünïcödé$dbvc$;'));
  assert.equal(await differencesOf(dir, text), []);
});

test('a difference dbvc does not fill is an engine error naming it, and nothing is written', async () => {
  const dir = await folderWith('CREATE TABLE t (name text COLLATE "C", a int);\nALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0) NOT VALID;\n');
  const error = await rejection(api.dump(config(dir), options()));
  assert.is(error.code, 'engine');
  assert.match(error.message, /the schema migra wrote does not reproduce the migrations' head: 2 difference\(s\)/);
  assert.equal(error.lines, [
    'changed column public.t.name: collation: "C" -> (none)',
    'changed constraint public.t.a_pos: definition: CHECK ((a > 0)) NOT VALID -> CHECK ((a > 0)); not validated: true -> (none)',
  ]);
  assert.is(await stat(join(dir, 'schema.sql')).catch(() => null), null);
});

test('check: equal after dump; a hand-edited schema.sql and a migration added without dump are exit 3, named both ways', async () => {
  const dir = await project('shop');
  await api.dump(config(dir), options());
  assert.equal(await api.check(config(dir), options()), { head: '0004', differences: [], exitCode: 0 });

  const file = join(dir, 'schema.sql');
  const dumped = await readFile(file, 'utf8');
  await appendFile(file, '\nALTER TABLE public.product ADD COLUMN sku text;\n');
  const edited = await api.check(config(dir), options());
  assert.is(edited.exitCode, 3);
  assert.equal(edited.differences.map((d) => d.message), ['schema.sql has column public.product.sku, the migrations do not: run dbvc revision NAME --autogenerate']);

  await writeFile(file, dumped);
  await writeFile(join(dir, '0005_add_stock.up.sql'), 'ALTER TABLE product ADD COLUMN stock int;\n');
  await writeFile(join(dir, '0005_add_stock.down.sql'), 'ALTER TABLE product DROP COLUMN stock;\n');
  const added = await api.check(config(dir), options());
  assert.equal([added.exitCode, added.head], [3, '0005']);
  assert.equal(added.differences.map((d) => d.message), ['the migrations have column public.product.stock, schema.sql does not: run dbvc dump']);
});

test('a migration that fails from base is named as such (not in review\'s words), and nothing is written', async () => {
  const dir = await project('runtime');
  const error = await rejection(api.dump(config(dir), options()));
  assert.is(error.code, 'sql');
  assert.match(error.message, /0002_divide\.up\.sql failed on the scratch database, run from base: division by zero$/);
  assert.match(error.hint, /^fix that migration/);
  assert.is(await stat(join(dir, 'schema.sql')).catch(() => null), null);
});

test('check without schema.sql is a file error (exit 2) with the command that makes one', async () => {
  const error = await rejection(api.check(config(await project('shop')), options()));
  assert.equal([error.code, api.EXIT_CODES[error.code as keyof typeof api.EXIT_CODES]], ['file', 2]);
  assert.match(error.message, /schema\.sql does not exist, so there is nothing to check$/);
  assert.is(error.hint, 'run dbvc dump to write it from the migrations, and commit it');
});

test.run();
