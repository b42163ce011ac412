// Issue 16: review, check and drift over a fleet of 20 real databases in two targets, rehearsing on the suite's
// server: each distinct range rehearsed once, one row per database (check: per target), the worst exit code.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { formatMatrix, type FleetRow } from '../../src/core/matrix.js';
import { capture, serverUrl, type TestDatabase } from '../helpers/db.js';
import { createFleet, type TestFleet } from '../helpers/fleet.js';

const test = suite<{ fleet: TestFleet }>('fleet verify');

test.before(async (context) => {
  context.fleet = await createFleet({ alpha: 12, beta: 8 });
});
test.after(async ({ fleet }) => fleet?.drop());
test.before.each(async ({ fleet }) => fleet.reset());

function targetsOf(fleet: TestFleet, needsServer = true) {
  return api.expandFleet({ all: true }, {}, fleet.root, needsServer);
}

function options(): api.VerifyOptions {
  return { policy: { ...api.DEFAULT_POLICY, parallel: 4 }, reporterFor: () => capture(), scratchUrl: serverUrl(), env: {}, info: () => {} };
}

function rowOf(rows: FleetRow[], d: TestDatabase): FleetRow {
  const row = rows.find((r) => r.database.endsWith(`/${d.name}`));
  if (!row) throw new Error(`no row for ${d.name}`);
  return row;
}

/** alpha: 4 databases at base, 4 at 0001, 4 at head; beta: all 8 at 0002. */
async function spread(fleet: TestFleet): Promise<void> {
  const [alpha, beta] = fleet.targets;
  const to = (databases: TestDatabase[], revision: string) => Promise.all(databases.map((d) => api.upgrade(api.resolveConfig({ db: 'alpha', url: d.url }, {}, fleet.root), revision, { report: capture() })));
  await to(alpha.databases.slice(4, 8), '0001');
  await to(alpha.databases.slice(8), '0003');
  await to(beta.databases, '0002');
}

test('review without a range: what upgrade would apply to each database, each distinct range rehearsed once', async ({ fleet }) => {
  await spread(fleet);
  const report = await api.fleetReview(targetsOf(fleet), options());
  assert.equal(report.reviews.map((r) => [r.target, r.report.range.from, r.report.range.to, r.databases.length]),
    [['alpha', null, '0003', 4], ['alpha', '0001', '0003', 4], ['beta', '0002', '0003', 8]]);
  assert.equal(report.reviews.map((r) => r.report.migrations.map((m) => m.version)), [['0001', '0002', '0003'], ['0002', '0003'], ['0003']]);
  assert.is(report.rows.length, 20);
  const [alpha, beta] = fleet.targets;
  for (const d of alpha.databases.slice(8)) assert.equal([rowOf(report.rows, d).verdict, rowOf(report.rows, d).range], ['at head', null]);
  for (const d of alpha.databases.slice(4, 8)) assert.equal(rowOf(report.rows, d).range, { from: '0001', to: '0003' });
  for (const d of beta.databases) assert.equal([rowOf(report.rows, d).current, rowOf(report.rows, d).pending, rowOf(report.rows, d).range], ['0002', 1, { from: '0002', to: '0003' }]);
  const verdict = report.reviews[0].report.verdict;
  assert.is(report.exitCode, verdict === 'ok' ? 0 : verdict === 'findings' ? 3 : 1);
  const lines = formatMatrix(report.rows, 'review');
  assert.match(lines[0], /^TARGET\s+DATABASE\s+CURRENT\s+REVIEWED\s+VERDICT\s+FINDINGS\s+NOTE$/);
  assert.match(lines.at(-1)!, /^20 databases: .*4 at head \(nothing to review\); 3 rehearsals$/);
  for (const d of fleet.all) assert.equal((await d.db`select count(*)::int as n from pg_tables where tablename = 'dbvc_history'`)[0].n, alpha.databases.slice(0, 4).includes(d) ? 0 : 1, 'nothing written');
});

test('review: a database whose revision is unknown fails alone (exit 3) and is named; an unreachable one exit 5 outranks it', async ({ fleet }) => {
  await spread(fleet);
  const lost = fleet.targets[1].databases[3];
  await lost.db`update alembic_version set version_num = '6173b7ed3174'`;
  const report = await api.fleetReview(targetsOf(fleet), options());
  const row = rowOf(report.rows, lost);
  assert.equal([row.outcome, row.error?.code], ['failed', 'state']);
  assert.match(row.error!.message, new RegExp(`^dbvc cannot tell which revision \\S+/${lost.name} is at, so it cannot tell what upgrade would apply$`));
  assert.is(report.reviews.find((r) => r.target === 'beta')!.databases.length, 7);
  assert.ok(report.exitCode === 3 || report.exitCode === 1, String(report.exitCode));
  const unreachable = api.expandFleet({ db: 'alpha', url: 'postgres://u:x@127.0.0.1:1/nowhere' }, {}, fleet.root);
  const both = await api.fleetReview([...unreachable, ...targetsOf(fleet).slice(1)], options());
  assert.is(both.exitCode, 5);
});

test('review of a range: one review per target, rows per target', async ({ fleet }) => {
  const report = await api.fleetReview(targetsOf(fleet, false), { ...options(), range: '0001:0002' });
  assert.equal(report.rows.map((r) => [r.target, r.database, r.range]), [['alpha', '-', { from: '0001', to: '0002' }], ['beta', '-', { from: '0001', to: '0002' }]]);
  assert.equal(report.reviews.map((r) => [r.target, r.databases, r.report.migrations.map((m) => m.version)]), [['alpha', [], ['0002']], ['beta', [], ['0002']]]);
  assert.match(formatMatrix(report.rows, 'review').at(-1)!, /^2 targets: .*; 2 rehearsals$/);
});

test('drift: per database, read-only; the database changed by hand is the one named; exit 3', async ({ fleet }) => {
  await Promise.all(fleet.all.map((d) => api.upgrade(api.resolveConfig({ db: 'alpha', url: d.url }, {}, fleet.root), undefined, { report: capture() })));
  const changed = fleet.targets[1].databases[5];
  await changed.db`create index m_0002_by_hand on m_0002 (id)`;
  const report = await api.fleetDrift(targetsOf(fleet), options());
  assert.is(report.exitCode, 3);
  assert.equal(report.rows.filter((r) => r.verdict === 'drift').map((r) => [r.database, r.differences]),
    [[rowOf(report.rows, changed).database, ['beta has index public.m_0002_by_hand, which the migrations up to 0003 do not make']]]);
  assert.equal(report.rows.filter((r) => r.verdict === 'none').length, 19);
  assert.is(formatMatrix(report.rows, 'drift').at(-1), '20 databases: 19 without drift, 1 drifted');
});

test('check: per target, no database; equal, differs, and a missing schema.sql (exit 2) ranked below a difference (3)', async ({ fleet }) => {
  const schema = (n: number) => Array.from({ length: n }, (_, i) => `CREATE TABLE m_000${i + 1} (id int PRIMARY KEY);`).join('\n');
  await writeFile(join(fleet.root, 'sql', 'alpha', 'schema.sql'), `${schema(3)}\n`);
  const equal = await api.fleetCheck(api.expandFleet({ db: 'alpha' }, {}, fleet.root, false), options());
  assert.equal([equal.exitCode, equal.rows.map((r) => [r.target, r.database, r.verdict, r.head])], [0, [['alpha', '-', 'equal', '0003']]]);
  const missing = await api.fleetCheck(targetsOf(fleet, false), options());
  assert.equal([missing.exitCode, missing.rows.map((r) => [r.target, r.outcome, r.error?.code ?? null])], [2, [['alpha', 'ok', null], ['beta', 'failed', 'file']]]);
  await writeFile(join(fleet.root, 'sql', 'beta', 'schema.sql'), `${schema(2)}\n`);
  const differs = await api.fleetCheck(targetsOf(fleet, false), options());
  assert.is(differs.exitCode, 3);
  assert.is(differs.rows[1].differences![0], 'the migrations have table public.m_0003, schema.sql does not: run dbvc dump --db beta');
  assert.ok(differs.rows[1].differences!.every((d) => d.includes('m_0003')), JSON.stringify(differs.rows[1].differences));
  assert.equal(formatMatrix(differs.rows, 'check').at(-1), '2 targets: 1 equal, 1 differ');
});

test.run();
