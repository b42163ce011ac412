// The runner sends the next migration before the current one's answer (runner.ts, runInTransactions): what must hold.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import type { Step } from '../../src/core/plan.js';
import { configFor, createDatabase, rejection, type TestDatabase } from '../helpers/db.js';

const test = suite<{ t: TestDatabase; dir: string }>('pipeline');

test.before.each(async (context) => {
  context.t = await createDatabase();
  context.dir = await mkdtemp(join(tmpdir(), 'dbvc-pipeline-'));
});
test.after.each(async (context) => {
  await context.t.drop();
  await rm(context.dir, { recursive: true, force: true });
});

async function writePair(dir: string, version: number, up: string, down = 'SELECT 1;\n'): Promise<void> {
  const stem = `${String(version).padStart(4, '0')}_m${version}`;
  await writeFile(join(dir, `${stem}.up.sql`), up);
  await writeFile(join(dir, `${stem}.down.sql`), down);
}

/** A reporter that keeps every event in the order the runner reported it. */
function recordEvents() {
  const events: string[] = [];
  const stem = (step: Step) => step.migration.version;
  return {
    events,
    report: {
      info: () => {},
      notice: (message: string) => events.push(message),
      stepStart: (step: Step) => events.push(`start ${stem(step)}`),
      stepDone: (step: Step) => events.push(`done ${stem(step)}`),
    },
  };
}

async function versionOf(t: TestDatabase): Promise<string> {
  const rows = await t.db`select version_num from alembic_version`;
  return rows[0]?.version_num ?? 'base';
}

test('each notice is reported inside its own migration, though the next one is already on its way', async ({ t, dir }) => {
  const count = 60;
  for (let v = 1; v <= count; v++) {
    // the notice comes first thing, so the server sends it right after the previous migration's answer
    await writePair(dir, v, `DO $$ BEGIN RAISE NOTICE 'first of ${v}'; END $$;\nCREATE TABLE t${v} (id int);\nDO $$ BEGIN RAISE NOTICE 'last of ${v}'; END $$;\n`);
  }
  const { events, report } = recordEvents();
  await api.upgrade(configFor(t.url, dir), undefined, { report });
  const expected: string[] = [];
  for (let v = 1; v <= count; v++) {
    const version = String(v).padStart(4, '0');
    expected.push(`start ${version}`, `NOTICE: first of ${v}`, `NOTICE: last of ${v}`, `done ${version}`);
  }
  assert.equal(events, expected);
  assert.is(await versionOf(t), String(count).padStart(4, '0'));
});

test('a migration whose COMMIT fails stops the run there: the one sent behind it does not commit', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE parent (id int PRIMARY KEY);\n', 'DROP TABLE parent;\n');
  // a deferred foreign key is checked at COMMIT, after the whole file ran
  await writePair(dir, 2, 'CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO child VALUES (42);\n');
  await writePair(dir, 3, 'CREATE TABLE after_the_failure (id int);\n');
  const { events, report } = recordEvents();
  const error = await rejection(api.upgrade(configFor(t.url, dir), undefined, { report }));
  assert.is(error.code, 'sql');
  assert.match(error.message, /\/0002_m2\.up\.sql: insert or update on table "child" violates foreign key constraint/);
  assert.ok(error.lines.includes('SQLSTATE 23503'), error.lines.join('\n'));
  assert.match(error.hint, /the database is at 0001$/);
  assert.equal(events, ['start 0001', 'done 0001', 'start 0002']);
  assert.is(await versionOf(t), '0001');
  const [{ exists }] = await t.db`select to_regclass('after_the_failure') is not null as exists`;
  assert.is(exists, false);
  const history = await t.db`select version_num from dbvc_history where event = 'up' order by id`;
  assert.equal(history.map((h) => h.version_num), ['0001']);
  const [{ open }] = await t.db`select count(*)::int as open from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`;
  assert.is(open, 0);
});

test('a migration failing at run time is the one reported, not the one sent behind it, and the run resumes from it', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE a (id int);\n');
  await writePair(dir, 2, 'CREATE TABLE b (id int);\nSELECT 1 / 0;\n');
  await writePair(dir, 3, 'CREATE TABLE c (id int);\n');
  await writePair(dir, 4, 'CREATE TABLE d (id int);\n');
  const config = configFor(t.url, dir);
  const error = await rejection(api.upgrade(config, undefined, { report: recordEvents().report }));
  assert.is(error.message, `${dir}/0002_m2.up.sql:2: division by zero`);
  assert.ok(error.lines.includes('SQLSTATE 22012'), error.lines.join('\n'));
  assert.is(await versionOf(t), '0001');
  const tables = await t.db`select tablename from pg_tables where schemaname = 'public' and tablename in ('a', 'b', 'c', 'd') order by 1`;
  assert.equal(tables.map((r) => r.tablename), ['a']);
  await writePair(dir, 2, 'CREATE TABLE b (id int);\n');
  const result = await api.upgrade(config, undefined, { report: recordEvents().report });
  assert.equal(result.steps.map((s) => s.version), ['0002', '0003', '0004']);
  assert.is(await versionOf(t), '0004');
});

test('a migration that drops the prepared bookkeeping statement is rolled back and told to stop doing that', async ({ t, dir }) => {
  await writePair(dir, 1, 'CREATE TABLE a (id int);\n');
  await writePair(dir, 2, 'CREATE TABLE b (id int);\nDEALLOCATE ALL;\n');
  const { events, report } = recordEvents();
  const error = await rejection(api.upgrade(configFor(t.url, dir), undefined, { report }));
  assert.is(error.code, 'sql');
  assert.is(error.message, `${dir}/0002_m2.up.sql ran, but recording it in alembic_version and dbvc_history failed: prepared statement "dbvc_record_step" does not exist`);
  assert.is(error.hint, "the file dropped dbvc's prepared statement dbvc_record_step (DEALLOCATE ALL?): take that out of the file; both were rolled back together, so the database is still at 0001");
  assert.equal(events, ['start 0001', 'done 0001', 'start 0002']);
  assert.is(await versionOf(t), '0001');
  const [{ exists }] = await t.db`select to_regclass('b') is not null as exists`;
  assert.is(exists, false);
});

test.run();
