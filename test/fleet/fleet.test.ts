// Issue 16: fleets through the api, on 20 real databases in two targets: each brought to head exactly once, the
// failure policy (stop, --keep-going, --canary), concurrent fleet runs, and Ctrl-C.
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { formatMatrix, type FleetRow } from '../../src/core/matrix.js';
import { checkAfterScenario, versionsIn } from '../helpers/consistency.js';
import { capture, fixture, type TestDatabase } from '../helpers/db.js';
import { createFleet, type TestFleet } from '../helpers/fleet.js';

const FIXTURE = fixture('fleet');
const test = suite<{ fleet: TestFleet }>('fleet');

test.before(async (context) => {
  context.fleet = await createFleet({ alpha: 12, beta: 8 });
});
test.after(async ({ fleet }) => fleet?.drop());
test.before.each(async ({ fleet }) => fleet.reset());

function targetsOf(fleet: TestFleet, flags: api.FleetFlags = { all: true }) {
  return api.expandFleet({ lockTimeout: '20s', ...flags }, {}, fleet.root);
}

function options(policy: Partial<api.FleetPolicy> = {}, signal?: AbortSignal): api.FleetOptions {
  return { policy: { ...api.DEFAULT_POLICY, ...policy }, signal, reporterFor: () => capture() };
}

function rowOf(rows: FleetRow[], d: TestDatabase): FleetRow {
  const row = rows.find((r) => r.database.endsWith(`/${d.name}`));
  if (!row) throw new Error(`no row for ${d.name}`);
  return row;
}

async function ledger(d: TestDatabase): Promise<{ current: string | null; ups: string[] }> {
  const [{ exists }] = await d.db`select to_regclass('public.alembic_version') is not null as exists`;
  if (!exists) return { current: null, ups: [] };
  const [row] = await d.db`select version_num from alembic_version`;
  const ups = await d.db`select version_num from dbvc_history where event = 'up' order by id`;
  return { current: row?.version_num ?? null, ups: ups.map((r) => r.version_num as string) };
}

test('--all finds both targets and all 20 databases, in the URL files\' order, each shown by host and database', async ({ fleet }) => {
  const targets = targetsOf(fleet);
  assert.equal(targets.map((t) => [t.name, t.units.length]), [['alpha', 12], ['beta', 8]]);
  assert.equal(targets[0].units.map((u) => u.database.split('/').pop()), fleet.targets[0].databases.map((d) => d.name));
  assert.equal(targetsOf(fleet, { db: 'beta,alpha' }).map((t) => t.name), ['beta', 'alpha']);
});

test('upgrade over the fleet brings every database to head exactly once; status shows the matrix', async ({ fleet }) => {
  const before = await api.fleetStatus(targetsOf(fleet), options());
  assert.is(before.exitCode, 0);
  assert.is(before.rows.length, 20);
  assert.ok(before.rows.every((r) => r.outcome === 'ok' && r.current === null && r.pending === 3 && r.head === '0003'));
  assert.is(formatMatrix(before.rows, 'status').at(-1), '20 databases: 20 behind (60 pending)');
  let most = 0;
  let isDone = false;
  const sampling = (async () => {
    while (!isDone) {
      // this fleet's databases only: the server may be shared with other test runs
      const [{ n }] = await fleet.all[0].db`select count(*)::int as n from pg_stat_activity where application_name = 'dbvc upgrade' and datname = any(${fleet.all.map((d) => d.name)})`;
      most = Math.max(most, n);
    }
  })();
  const report = await api.fleetMove(targetsOf(fleet), 'up', 'head', options({ parallel: 6 }));
  isDone = true;
  await sampling;
  assert.ok(most >= 2 && most <= 6, `${most} sessions at once`);
  assert.is(report.exitCode, 0);
  assert.ok(report.rows.every((r) => r.outcome === 'ok' && r.current === '0003' && r.pending === 0 && r.did === 'applied 3 (base -> 0003)'));
  for (const d of fleet.all) assert.equal(await ledger(d), { current: '0003', ups: ['0001', '0002', '0003'] }, d.name);
  const after = await api.fleetStatus(targetsOf(fleet), options());
  const lines = formatMatrix(after.rows, 'status');
  assert.match(lines[0], /^TARGET\s+DATABASE\s+CURRENT\s+HEAD\s+PENDING\s+PROBLEMS\s+LAST APPLIED\s+NOTE$/);
  assert.is(lines.length, 22);
  assert.ok(lines.slice(1, 13).every((l) => l.startsWith('alpha ')) && lines.slice(13, 21).every((l) => l.startsWith('beta ')));
  assert.match(lines[1], /\s0003\s+0003\s+0\s+0\s+0003 at \d{4}-\d\d-\d\dT/);
  assert.is(lines.at(-1), '20 databases: 20 at head');
  const again = await api.fleetMove(targetsOf(fleet), 'up', 'head', options());
  assert.ok(again.rows.every((r) => r.did === 'already there'));
  assert.is(formatMatrix(again.rows, 'move').at(-1), '20 databases: 20 already there');
});

test('a poisoned database fails alone and is named; the runs in flight finish and no new one starts', async ({ fleet }) => {
  const poisoned = fleet.targets[0].databases[4];
  await poisoned.db`create table m_0002 (id int)`;
  const report = await api.fleetMove(targetsOf(fleet), 'up', 'head', options({ parallel: 4 }));
  assert.is(report.exitCode, 1);
  const failed = report.rows.filter((r) => r.outcome === 'failed');
  assert.equal(failed, [rowOf(report.rows, poisoned)]);
  assert.equal({ code: failed[0].error?.code, current: failed[0].current, known: failed[0].known, pending: failed[0].pending }, { code: 'sql', current: '0001', known: true, pending: 2 });
  assert.match(failed[0].error!.message, /m_0002/);
  const notStarted = report.rows.filter((r) => r.outcome === 'not started');
  assert.ok(notStarted.length >= 8, `${notStarted.length} not started`);
  assert.is(report.rows.filter((r) => r.outcome === 'ok').length + notStarted.length, 19);
  for (const d of fleet.all) {
    const row = rowOf(report.rows, d);
    const expected = row.outcome === 'ok' ? '0003' : row.outcome === 'failed' ? '0001' : null;
    assert.is((await ledger(d)).current, expected, `${d.name} (${row.outcome})`);
  }
  assert.match(formatMatrix(report.rows, 'move').join('\n'), new RegExp(`/${poisoned.name}\\s+failed \\(sql\\)\\s+0001\\s+0003\\s+2\\s+.*m_0002`));
});

test('--keep-going runs every database: 19 at head, the poisoned one failed', async ({ fleet }) => {
  const poisoned = fleet.targets[1].databases[0];
  await poisoned.db`create table m_0003 (id int)`;
  const report = await api.fleetMove(targetsOf(fleet), 'up', 'head', options({ keepGoing: true }));
  assert.is(report.exitCode, 1);
  assert.equal(report.rows.filter((r) => r.outcome !== 'ok').map((r) => [r.database, r.outcome, r.current]), [[rowOf(report.rows, poisoned).database, 'failed', '0002']]);
  assert.is(formatMatrix(report.rows, 'move').at(-1), '20 databases: 19 moved (57 migrations), 1 failed');
  for (const d of fleet.all) assert.is((await ledger(d)).ups.length, d === poisoned ? 2 : 3, d.name);
});

test('--canary 1 with a poisoned first database starts no other, even with --keep-going', async ({ fleet }) => {
  const first = fleet.targets[0].databases[0];
  await first.db`create table m_0001 (id int)`;
  const report = await api.fleetMove(targetsOf(fleet), 'up', 'head', options({ canary: 1, keepGoing: true }));
  assert.is(report.exitCode, 1);
  assert.equal(report.rows.filter((r) => r.outcome !== 'not started').map((r) => [r.database, r.outcome, r.current]), [[rowOf(report.rows, first).database, 'failed', null]]);
  for (const d of fleet.all.slice(1)) assert.equal(await ledger(d), { current: null, ups: [] }, d.name);
  await first.db`drop table m_0001`;
  const healthy = await api.fleetMove(targetsOf(fleet), 'up', 'head', options({ canary: 1 }));
  assert.is(healthy.exitCode, 0);
  assert.ok(healthy.rows.every((r) => r.current === '0003'));
});

test('eight fleet runs at once over the same databases apply each migration exactly once', async ({ fleet }) => {
  const reports = await Promise.all(Array.from({ length: 8 }, () => api.fleetMove(targetsOf(fleet), 'up', 'head', options({ parallel: 3 }))));
  assert.equal(reports.map((r) => r.exitCode), Array(8).fill(0));
  for (const d of fleet.all) {
    const moved = reports.map((r) => rowOf(r.rows, d).moved);
    assert.is(moved.reduce((a, b) => a! + b!, 0), 3, `${d.name}: ${moved}`); // one run applied 0001-0003, or several shared them
    assert.equal(await checkAfterScenario(d.db, { versions: await versionsIn(FIXTURE), isUpOnly: true }), [], d.name);
  }
});

test('a target\'s files are read once: a file changed after the run began does not reach its later databases', async ({ fleet }) => {
  const dir = join(fleet.root, 'sql', 'beta');
  const targets = targetsOf(fleet, { db: 'beta' });
  const run = api.fleetMove(targets, 'up', 'head', options({ parallel: 1 }));
  await new Promise((resolve) => setImmediate(resolve)); // loadMigrations has read the folder synchronously by now
  await writeFile(join(dir, '0003_m3.up.sql'), 'CREATE TABLE m_other (id int);\n');
  const report = await run;
  assert.is(report.exitCode, 0);
  for (const d of fleet.targets[1].databases) {
    const [{ other }] = await d.db`select to_regclass('public.m_other') is not null as other`;
    assert.is(other, false, d.name);
  }
  await cp(join(FIXTURE, '0003_m3.up.sql'), join(dir, '0003_m3.up.sql'));
});

test('downgrade over the fleet; a database that cannot be reached fails with connect, named, and sql still ranks above it', async ({ fleet }) => {
  await api.fleetMove(targetsOf(fleet), 'up', 'head', options({ parallel: 8 }));
  const down = await api.fleetMove(targetsOf(fleet, { db: 'alpha' }), 'down', '-1', options());
  assert.is(down.exitCode, 0);
  assert.ok(down.rows.every((r) => r.current === '0002' && r.pending === 1 && r.did === 'reverted 1 (0003 -> 0002)'));
  await writeFile(join(fleet.root, 'envs', 'gamma.urls'), 'postgres://u:SecretGamma@127.0.0.1:1/nowhere?connect_timeout=2\n');
  await writeFile(join(fleet.root, 'envs', 'gamma.env'), 'DBVC_URLS_FILE=envs/gamma.urls\n');
  await cp(FIXTURE, join(fleet.root, 'sql', 'gamma'), { recursive: true });
  const status = await api.fleetStatus(targetsOf(fleet), options());
  assert.is(status.exitCode, 5, JSON.stringify(status.rows.filter((r) => r.error)));
  const gamma = status.rows.find((r) => r.target === 'gamma')!;
  assert.equal([gamma.database, gamma.outcome, gamma.error?.code, gamma.known], ['127.0.0.1:1/nowhere', 'failed', 'connect', false]);
  assert.is(status.rows.filter((r) => r.outcome === 'ok').length, 20);
  await fleet.targets[0].databases[0].db`create table m_0003 (id int)`;
  const up = await api.fleetMove(targetsOf(fleet), 'up', 'head', options({ keepGoing: true }));
  assert.is(up.exitCode, 1);
  assert.equal(up.rows.filter((r) => r.outcome === 'failed').map((r) => r.error!.code).sort(), ['connect', 'sql']);
});

test('an interrupted fleet run rolls back each migration in flight, releases every lock, starts nothing more, and says where each stands', async ({ fleet }) => {
  const dir = join(fleet.root, 'sql', 'alpha');
  await writeFile(join(dir, '0002_m2.up.sql'), 'CREATE TABLE m_0002 (id int PRIMARY KEY);\nSELECT pg_sleep(30);\n');
  try {
    const controller = new AbortController();
    const run = api.fleetMove(targetsOf(fleet, { db: 'alpha' }), 'up', 'head', options({ parallel: 4 }, controller.signal));
    await waitForSleepers(fleet, 4);
    controller.abort();
    const report = await run;
    assert.is(report.exitCode, 130);
    const interrupted = report.rows.filter((r) => r.outcome === 'interrupted');
    assert.is(interrupted.length, 4);
    assert.ok(interrupted.every((r) => r.current === '0001' && r.error?.code === 'interrupted'));
    assert.is(report.rows.filter((r) => r.outcome === 'not started').length, 8);
    for (const d of fleet.targets[0].databases) {
      assert.equal(await checkAfterScenario(d.db, { versions: await versionsIn(FIXTURE), isUpOnly: true }), [], d.name);
    }
  } finally {
    await cp(join(FIXTURE, '0002_m2.up.sql'), join(dir, '0002_m2.up.sql'));
  }
});

async function waitForSleepers(fleet: TestFleet, count: number): Promise<void> {
  const d = fleet.all[0];
  const names = fleet.all.map((x) => x.name);
  for (let i = 0; i < 500; i++) {
    // sessions on this fleet's databases only: the server may be shared with other test runs
    const [{ n }] = await d.db`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid() and datname = any(${names})`;
    if (n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${count} migrations never started sleeping`);
}

test.run();
