// dbvc baseline against the suite's server: a database Alembic built (the real python3-alembic) and ones built by
// hand become an up file that reproduces their schema on an empty database; --stamp records it there.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { readComments } from '../../src/authoring/comments.js';
import { parseDatabaseUrl } from '../../src/config.js';
import { compareSnapshots, type Snapshot } from '../../src/core/snapshot.js';
import { loadMigrations } from '../../src/fs.js';
import { readSnapshot } from '../../src/review/snapshot.js';
import type { Db } from '../../src/store.js';
import { run } from '../helpers/cli.js';
import { reportSkipped } from '../helpers/common.js';
import { capture, configFor, copyFixture, createDatabase, rejection, ROOT, serverUrl, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dirs: string[]; others: TestDatabase[] }>('authoring/baseline');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dirs = [];
  context.others = [];
});
test.after.each(async (context) => {
  await context.t.drop();
  for (const other of context.others) await other.drop();
  for (const dir of context.dirs) await rm(dir, { recursive: true, force: true });
});

const PASSWORD = 'baseline-s3cret-pw';
const options = () => ({ scratchUrl: serverUrl(), report: capture() });

/** The URL with a password in it: the suite's server trusts its clients, so it is ignored, but must never be shown. */
function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = PASSWORD;
  return parsed.href;
}

async function emptyFolder(dirs: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbvc-baseline-'));
  dirs.push(dir);
  return dir;
}

/** What check and drift compare: the snapshot (without dbvc's two tables) and the comments. */
async function schemaOf(db: Db): Promise<Snapshot> {
  return { objects: [...(await readSnapshot(db, 'public')).objects, ...(await readComments(db))] };
}

const PYTHON = '/usr/bin/python3';
const hasAlembic = spawnSync(PYTHON, ['-c', 'import alembic, psycopg2']).status === 0;
if (!hasAlembic) reportSkipped(2, 'the baseline tests of a database Alembic built: python3 cannot import alembic and psycopg2');
const withAlembic = (name: string, run: Parameters<typeof test>[1]) => {
  if (hasAlembic) test(name, run);
};

/** `alembic upgrade head` of test/fixtures/alembic-hex on the database at `url` (libpq reads PGHOST and friends). */
async function buildWithAlembic(url: string, dirs: string[]): Promise<void> {
  const project = await copyFixture('alembic-hex');
  dirs.push(project);
  const server = parseDatabaseUrl(url, 'test', {}, ROOT);
  if (server.kind !== 'url') throw new Error('not a url');
  const env = {
    ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.username, PGPASSWORD: '',
    DBVC_ALEMBIC_URL: `postgresql+psycopg2:///${server.database}`, PYTHONDONTWRITEBYTECODE: '1',
  };
  const result = spawnSync(PYTHON, ['-m', 'alembic', '-c', join(project, 'alembic.ini'), 'upgrade', 'head'], { cwd: project, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`alembic upgrade head failed:\n${result.stderr}`);
}

withAlembic('a database Alembic built: the baseline file alone, applied to an empty database, gives its schema; the source is left alone', async ({ t, dirs, others }) => {
  await buildWithAlembic(t.url, dirs);
  await t.db.unsafe("COMMENT ON TABLE product IS 'what we sell'; CREATE SEQUENCE ticket_seq START 100 INCREMENT 5");
  const dir = await emptyFolder(dirs);
  const report = capture();
  const result = await api.baseline(configFor(withPassword(t.url), dir), 'initial schema', { scratchUrl: serverUrl(), report });
  assert.equal({ ...result, notes: undefined }, {
    file: `${configFor(t.url, dir).migrationsLabel}/0001_initial_schema.up.sql`, version: '0001', follows: null, replaced: ['3c1d9e0f2a7b'], stamped: null, notes: undefined,
  });
  assert.equal(result.notes, [`alembic_version holds 3c1d9e0f2a7b, which no file in ${configFor(t.url, dir).migrationsLabel} names (an Alembic revision?): baseline --stamp, or dbvc stamp 0001 --purge, replaces it`]);
  assert.equal(await readdir(dir), ['0001_initial_schema.up.sql'], 'no down file');
  const text = await readFile(join(dir, '0001_initial_schema.up.sql'), 'utf8');
  assert.match(text, /^-- 0001_initial_schema: initial schema \(upgrade\)\n-- Written by dbvc baseline from database dbvc_test_\w+ \(DDL from @pgkit\/migra\)\. Irreversible by design: it has no down file\.\n/);
  assert.not.match(text, /alembic_version|dbvc_history/);
  assert.not.ok(JSON.stringify([result, report.lines, report.notices]).includes(PASSWORD), 'the password is never shown');
  assert.ok(report.lines.some((l) => l.includes('(read-only)')), report.lines.join('\n'));

  const [{ history }] = await t.db`select to_regclass('dbvc_history') is not null as history`;
  assert.is(history, false, 'read-only: no dbvc_history made on the source');
  assert.equal((await t.db`select version_num from alembic_version`).map((r) => r.version_num), ['3c1d9e0f2a7b']);

  const fresh = await createDatabase();
  others.push(fresh);
  const config = configFor(fresh.url, dir);
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  assert.equal(migrations.map((m) => [m.version, m.down]), [['0001', undefined]], 'the load-time rules take an up file without a down');
  await api.upgrade(config, undefined, { report: capture() });
  assert.equal(compareSnapshots(await schemaOf(t.db), await schemaOf(fresh.db)), [], 'the same schema, comments and sequence options included');
  const irreversible = await rejection(api.downgrade(config, 'base', { report: capture() }));
  assert.is(irreversible.code, 'irreversible');
});

withAlembic('--stamp records it on that database as applied, without running it: status is at the baseline with nothing pending', async ({ t, dirs }) => {
  await buildWithAlembic(t.url, dirs);
  const before = await schemaOf(t.db);
  const dir = await emptyFolder(dirs);
  const config = configFor(t.url, dir);
  const result = await api.baseline(config, 'baseline', { ...options(), stamp: true });
  assert.equal([result.replaced, result.stamped], [['3c1d9e0f2a7b'], { from: '3c1d9e0f2a7b', to: '0001' }]);
  assert.match(result.notes[0], /alembic_version held 3c1d9e0f2a7b, .*: replaced by 0001$/);
  const status = await api.status(config, { report: capture() });
  assert.equal({ current: status.current, pending: status.pending, problems: status.problems }, { current: '0001', pending: [], problems: [] });
  const rows = await t.db`select event, version_num from dbvc_history`;
  assert.equal(rows.map((r) => [r.event, r.version_num]), [['stamp', '0001']]);
  assert.equal(compareSnapshots(before, await schemaOf(t.db)), [], 'nothing ran');

  const again = await rejection(api.baseline(config, 'again', options()));
  assert.equal([again.code, again.message], ['state', `local is at revision 0001 of ${config.migrationsLabel}: its schema comes from those migrations, so there is nothing to baseline`]);
  assert.equal(await readdir(dir), ['0001_baseline.up.sql'], 'nothing more written');
});

test('a folder that already holds migrations: the baseline comes next, and the header and notes say what that means', async ({ t, dirs }) => {
  const dir = await copyFixture('shop');
  dirs.push(dir);
  await t.db.unsafe('CREATE TABLE legacy (id int PRIMARY KEY, name text NOT NULL)');
  const result = await api.baseline(configFor(t.url, dir), 'legacy', options());
  assert.equal([result.version, result.follows], ['0005', '0004']);
  assert.match(result.notes[0], /already held 0001\.\.0004: 0005 comes after them and creates the whole schema again, so upgrading an empty database from base would fail on it/);
  assert.match(await readFile(join(dir, '0005_legacy.up.sql'), 'utf8'), /-- It follows 0004: run from base, the migrations before it run first, and this file then creates everything again\./);
});

test('refused, nothing written: a schema migra does not reproduce (named), an empty database, the embedded server', async ({ t, dirs }) => {
  const dir = await emptyFolder(dirs);
  const config = configFor(withPassword(t.url), dir);
  const empty = await rejection(api.baseline(config, 'x', options()));
  assert.equal([empty.code, empty.message], ['state', 'local has no tables, types or functions: there is no schema to baseline']);

  await t.db.unsafe('CREATE TABLE t (name text COLLATE "C", a int)');
  const report = capture();
  const gap = await rejection(api.baseline(config, 'x', { scratchUrl: serverUrl(), report }));
  assert.is(gap.code, 'engine');
  assert.is(gap.message, 'the schema migra wrote does not reproduce the schema of local: 1 difference(s)');
  assert.equal(gap.lines, ['changed column public.t.name: collation: "C" -> (none)']);
  assert.not.ok(JSON.stringify([gap.message, gap.lines, gap.hint, report.lines]).includes(PASSWORD));

  const embedded = await rejection(api.baseline(configFor('embedded', dir), 'x', options()));
  assert.is(embedded.code, 'usage');
  assert.equal(await readdir(dir), []);
});

test('the CLI: baseline --stamp --json, then status; a second baseline is exit 3 with dbvc drift as the hint; no password anywhere', async ({ t, dirs }) => {
  await t.db.unsafe("CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE person (id serial PRIMARY KEY, mood mood NOT NULL DEFAULT 'ok')");
  const dir = await emptyFolder(dirs);
  const args = ['--dir', dir, '--url', withPassword(t.url), '--scratch-url', withPassword(serverUrl())];
  const first = await run(['baseline', 'initial', '--stamp', '--json', ...args], { timeoutMs: 60_000 });
  assert.is(first.code, 0, first.stderr);
  const result = JSON.parse(first.stdout);
  assert.equal([result.version, result.stamped, result.notes], ['0001', { from: null, to: '0001' }, []]);
  const status = await run(['status', '--exit-code', '--dir', dir, '--url', withPassword(t.url)]);
  assert.is(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /^current: 0001 \(0001_initial\)\n/);
  const again = await run(['baseline', 'again', ...args], { timeoutMs: 60_000 });
  assert.is(again.code, api.EXIT_CODES.state, again.stderr);
  assert.match(again.stderr, /local is at revision 0001 of .*: its schema comes from those migrations, so there is nothing to baseline/);
  assert.match(again.stderr, /dbvc drift compares it with that revision/);
  for (const output of [first, status, again]) assert.not.ok((output.stdout + output.stderr).includes(PASSWORD), output.stderr);
});

test.run();
