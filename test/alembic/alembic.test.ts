// Against the real Alembic (Debian's python3-alembic and python3-psycopg2): import its history, and share databases with it.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importAlembic } from '../../src/alembic.js';
import * as api from '../../src/api.js';
import { parseDatabaseUrl } from '../../src/config.js';
import type { Db } from '../../src/store.js';
import { snapshotSchema } from '../helpers/catalog.js';
import { reportSkipped } from '../helpers/common.js';
import { capture, configFor, copyFixture, createDatabase, rejection, ROOT, type TestDatabase } from '../helpers/db.js';

const PYTHON = '/usr/bin/python3';
const test = suite<{ t: TestDatabase; dirs: string[] }>('alembic');
const report = () => ({ report: capture() });

function missingAlembic(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import alembic, psycopg2'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} cannot run (${(probe.error as NodeJS.ErrnoException).code})`;
  return probe.status === 0 ? undefined : `${PYTHON} cannot import alembic and psycopg2 (apt-get install python3-alembic python3-psycopg2)`;
}

// Skipped tests are not registered at all: test/run.mjs counts uvu's Total, which leaves out test.skip.
const missing = missingAlembic();
if (missing) reportSkipped(4, `the tests against the real Alembic in test/alembic/alembic.test.ts: ${missing}`);
const it = (name: string, run: Parameters<typeof test>[1]) => {
  if (!missing) test(name, run);
};

/** libpq reads PGHOST and friends, so the SQLAlchemy URL names only the database (a socket folder works too). */
function alembicEnv(url: string): NodeJS.ProcessEnv {
  const server = parseDatabaseUrl(url, 'test', {}, ROOT);
  if (server.kind !== 'url') throw new Error('not a url');
  return {
    ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.username, PGPASSWORD: server.password ?? '',
    DBVC_ALEMBIC_URL: `postgresql+psycopg2:///${server.database}`, PYTHONDONTWRITEBYTECODE: '1',
  };
}

function alembic(project: string, args: string[], env: NodeJS.ProcessEnv): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(PYTHON, ['-m', 'alembic', '-c', join(project, 'alembic.ini'), ...args], { cwd: project, env, encoding: 'utf8' });
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

function alembicOk(project: string, args: string[], env: NodeJS.ProcessEnv): string {
  const result = alembic(project, args, env);
  if (result.code !== 0) throw new Error(`alembic ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

/** The revision `alembic current` reports, e.g. "0002 (head)". */
function alembicCurrent(project: string, env: NodeJS.ProcessEnv): string {
  return alembicOk(project, ['current'], env).trim();
}

/** The schema without the bookkeeping tables, which differ by design (dbvc adds dbvc_history). */
async function schemaOf(db: Db): Promise<Record<string, unknown[]>> {
  const snapshot = await snapshotSchema(db);
  const isBookkeeping = (row: unknown) => /alembic_version|dbvc_history/.test(JSON.stringify(row));
  return Object.fromEntries(Object.entries(snapshot).map(([key, rows]) => [key, rows.filter((row) => !isBookkeeping(row))]));
}

async function tempDir(dirs: string[], name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `dbvc-${name}-`));
  dirs.push(dir);
  return dir;
}

async function copyProject(dirs: string[], name: string): Promise<string> {
  const dir = await copyFixture(name);
  dirs.push(dir);
  return dir;
}

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dirs = [];
});
test.after.each(async (context) => {
  await context.t.drop();
  for (const dir of context.dirs) await rm(dir, { recursive: true, force: true });
});

it('a hex-id Alembic history imports into SQL pairs that carry on the database Alembic migrated', async ({ t, dirs }) => {
  const project = await copyProject(dirs, 'alembic-hex');
  const env = alembicEnv(t.url);
  alembicOk(project, ['upgrade', 'head'], env);
  const fromAlembic = await schemaOf(t.db);
  const upgradeScript = alembicOk(project, ['upgrade', 'base:head', '--sql'], env);
  const downgradeScript = alembicOk(project, ['downgrade', 'head:base', '--sql'], env);
  const config = configFor(t.url, await tempDir(dirs, 'alembic-sql'));
  const label = config.migrationsLabel;
  const result = await importAlembic(config, { upgradeScript, downgradeScript });
  const stems = ['0001_alembic_6173b7ed3174', '0002_alembic_ae1027a6acf2', '0003_alembic_3c1d9e0f2a7b'];
  assert.equal(result, { written: stems.flatMap((s) => [`${label}/${s}.up.sql`, `${label}/${s}.down.sql`]), warnings: [] });
  const functionFile = readFileSync(join(config.migrationsDir, `${stems[0]}.up.sql`), 'utf8');
  assert.ok(functionFile.includes("  -- a semicolon; inside a comment, and a blank line below\n\n  RETURN p.name || ' (' || p.mood || ', 100%)' || $$;$$;\nEND\n$body$;\n"));

  const status = await api.status(config, report());
  assert.equal({ current: status.current, stem: status.currentStem, pending: status.pending, problems: status.problems }, { current: '3c1d9e0f2a7b', stem: stems[2], pending: [], problems: [] });
  const down = await api.downgrade(config, '-1', report());
  assert.equal(down.steps.map((s) => s.file), [`${label}/${stems[2]}.down.sql`]);
  const [{ orders }] = await t.db`select to_regclass('orders') as orders`;
  assert.is(orders, null);
  assert.is(alembicCurrent(project, env), 'ae1027a6acf2', 'dbvc keeps Alembic\'s ids in alembic_version');
  const up = await api.upgrade(config, undefined, report());
  assert.equal(up.steps.map((s) => s.version), ['0003']);
  assert.equal(await schemaOf(t.db), fromAlembic);
  assert.is(alembicCurrent(project, env), '3c1d9e0f2a7b (head)');
  alembicOk(project, ['downgrade', '-1'], env);
  assert.equal((await api.status(config, report())).pending.map((p) => p.version), ['0003'], 'and reads what Alembic wrote');
  await api.upgrade(config, undefined, report());

  await api.downgrade(config, 'base', report());
  const [{ left }] = await t.db`select count(*)::int as left from pg_class where relnamespace = 'public'::regnamespace and relname not in ('alembic_version', 'alembic_version_pkc') and relname not like 'dbvc_history%'`;
  assert.is(left, 0, 'every imported down file ran');
  await api.upgrade(config, undefined, report());
  assert.equal(await schemaOf(t.db), fromAlembic);
});

it('Alembic\'s log lines (2>&1 into one file) give the files their messages as names', async ({ t, dirs }) => {
  const project = await copyProject(dirs, 'alembic-hex');
  const saved = join(await tempDir(dirs, 'alembic-log'), 'upgrade.sql');
  const fd = openSync(saved, 'w');
  try {
    const result = spawnSync(PYTHON, ['-m', 'alembic', 'upgrade', 'base:head', '--sql'], { cwd: project, env: alembicEnv(t.url), stdio: ['ignore', fd, fd] });
    assert.is(result.status, 0);
  } finally {
    closeSync(fd);
  }
  const upgradeScript = readFileSync(saved, 'utf8');
  assert.match(upgradeScript, /^INFO  \[alembic\.runtime\.migration\] Running upgrade  -> 6173b7ed3174, create product$/m);
  const config = configFor(t.url, await tempDir(dirs, 'alembic-sql'));
  const result = await importAlembic(config, { upgradeScript });
  assert.equal((await readdir(config.migrationsDir)).sort(), ['0001_create_product.up.sql', '0002_add_price.up.sql', '0003_add_orders.up.sql']);
  assert.is(result.warnings.length, 1);
  await api.upgrade(config, undefined, report());
  const fromDbvc = await schemaOf(t.db);
  const other = await createDatabase();
  try {
    alembicOk(project, ['upgrade', 'head'], alembicEnv(other.url));
    assert.equal(await schemaOf(other.db), fromDbvc);
  } finally {
    await other.drop();
  }
});

it('Alembic and dbvc take turns on a database with --rev-id revisions (0001, 0002)', async ({ t, dirs }) => {
  const project = await copyProject(dirs, 'alembic-revid');
  const env = alembicEnv(t.url);
  const config = configFor(t.url, await tempDir(dirs, 'alembic-sql'));
  await importAlembic(config, {
    upgradeScript: alembicOk(project, ['upgrade', 'base:head', '--sql'], env),
    downgradeScript: alembicOk(project, ['downgrade', 'head:base', '--sql'], env),
  });
  assert.equal((await readdir(config.migrationsDir)).sort(), ['0001_alembic_0001.down.sql', '0001_alembic_0001.up.sql', '0002_alembic_0002.down.sql', '0002_alembic_0002.up.sql']);
  await api.upgrade(config, undefined, report());
  assert.is(alembicCurrent(project, env), '0002 (head)');
  await api.downgrade(config, '-1', report());
  assert.is(alembicCurrent(project, env), '0001');
  await api.upgrade(config, undefined, report());
  assert.is(alembicCurrent(project, env), '0002 (head)');

  alembicOk(project, ['downgrade', '-1'], env);
  const columns = await t.db`select column_name from information_schema.columns where table_name = 'account' order by ordinal_position`;
  assert.equal(columns.map((c) => c.column_name), ['id', 'name']);
  const status = await api.status(config, report());
  assert.equal({ current: status.current, pending: status.pending.map((p) => p.version), problems: status.problems }, { current: '0001', pending: ['0002'], problems: [] });
  const again = await api.upgrade(config, undefined, report());
  assert.equal(again.steps.map((s) => s.version), ['0002']);
  assert.is(alembicCurrent(project, env), '0002 (head)');
});

it('hostile histories: two heads are refused; a raising downgrade and an empty one (pass) leave no down file', async ({ t, dirs }) => {
  const project = await copyProject(dirs, 'alembic-branched');
  const env = alembicEnv(t.url);
  assert.is.not(alembic(project, ['upgrade', 'base:head', '--sql'], env).code, 0, 'Alembic itself refuses "head" with two heads');
  const config = configFor(t.url, await tempDir(dirs, 'alembic-sql'));
  const heads = await rejection(importAlembic(config, { upgradeScript: alembicOk(project, ['upgrade', 'base:heads', '--sql'], env) }));
  assert.is(heads.code, 'file');
  assert.match(heads.message, /^the Alembic history has 2 heads \((ccc3, ddd4|ddd4, ccc3)\): revision aaa1 has 2 children \((bbb2, ccc3|ccc3, bbb2)\)$/);

  const upgradeScript = alembicOk(project, ['upgrade', 'base:ddd4', '--sql'], env);
  const raising = alembic(project, ['downgrade', 'ddd4:base', '--sql'], env);
  assert.match(raising.stderr, /NotImplementedError: ddd4 cannot be undone/);
  const cut = await rejection(importAlembic(config, { upgradeScript, downgradeScript: raising.stdout }));
  assert.is(cut.message, 'the downgrade script opens a transaction (BEGIN;) that it never commits: Alembic stopped part-way');
  assert.equal(await readdir(config.migrationsDir), [], 'nothing was written');

  const downgradeScript = alembicOk(project, ['downgrade', 'bbb2:base', '--sql'], env);
  const result = await importAlembic(config, { upgradeScript, downgradeScript });
  const label = config.migrationsLabel;
  assert.equal(result.written, ['0001_alembic_aaa1.up.sql', '0001_alembic_aaa1.down.sql', '0002_alembic_bbb2.up.sql', '0003_alembic_ddd4.up.sql'].map((n) => `${label}/${n}`));
  assert.equal(result.warnings, [
    '0002_alembic_bbb2: Alembic printed no SQL for the downgrade of bbb2 (an empty downgrade(), such as pass); wrote no down file, so dbvc treats it as irreversible',
    '0003_alembic_ddd4: the downgrade script does not downgrade ddd4; wrote no down file, so dbvc cannot downgrade across it',
  ]);
  alembicOk(project, ['upgrade', 'ddd4'], env);
  const status = await api.status(config, report());
  assert.equal({ current: status.current, pending: status.pending, problems: status.problems }, { current: 'ddd4', pending: [], problems: [] });
  const refused = await rejection(api.downgrade(config, '-1', report()));
  assert.is(refused.code, 'irreversible');
});

test.run();
