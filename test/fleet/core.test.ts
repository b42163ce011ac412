// Issue 16, no database: URL list files, the exit code of many failures, sorting and the matrix text, targets.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runFleet } from '../../src/fleet/run.js';
import { expandFleet, type FleetUnit } from '../../src/fleet/targets.js';
import { parseUrlList, verdictKind, worstExitCode } from '../../src/core/fleet.js';
import { compareNatural, formatMatrix, type FleetRow } from '../../src/core/matrix.js';
import { caught } from '../helpers/common.js';

const test = suite('fleet core');

test('a URL list: one per line, # comments and blank lines skipped, line numbers kept; duplicates and empty lists refused', () => {
  const text = '# tenants\r\n\r\n  postgres://a@h/one  \npostgres://a@h/two\n# postgres://a@h/three\n';
  assert.equal(parseUrlList(text, 'envs/t.urls'), [{ line: 3, url: 'postgres://a@h/one' }, { line: 4, url: 'postgres://a@h/two' }]);
  const twice = caught(() => parseUrlList('postgres://u:Pw1@h/x\n\npostgres://u:Pw1@h/x\n', 'envs/t.urls'));
  assert.equal([twice.code, twice.message], ['config', 'envs/t.urls:3 lists the same database as line 1']);
  assert.equal(caught(() => parseUrlList('# none yet\n', 'envs/t.urls')).message, 'envs/t.urls lists no database');
});

test('the exit code is that of the most serious failure: interrupted > internal > sql > connect > lock > state > usage/config', () => {
  assert.is(worstExitCode([]), 0);
  assert.is(worstExitCode(['config', 'lock', 'connect']), 5);
  assert.is(worstExitCode(['lock', 'state', 'usage']), 4);
  assert.is(worstExitCode(['connect', 'sql', 'lock']), 1);
  assert.is(worstExitCode(['sql', 'internal']), 70);
  assert.is(worstExitCode(['sql', 'interrupted', 'internal']), 130);
  assert.is(worstExitCode(['file', 'check']), 3);
});

test('names sort with their numbers as numbers', () => {
  const names = ['h/tenant_10', 'h/tenant_2', 'h/tenant_1', 'g/tenant_3', 'h/tenant_02'];
  assert.equal(names.sort(compareNatural), ['g/tenant_3', 'h/tenant_1', 'h/tenant_2', 'h/tenant_02', 'h/tenant_10']);
});

const row = (over: Partial<FleetRow>): FleetRow => ({
  target: 'aiven', database: 'h/db', outcome: 'ok', known: true, current: '0003', head: '0003', pending: 0, problems: 0,
  lastApplied: null, did: null, moved: null, error: null, ...over,
});

test('the status matrix: sorted rows in aligned columns, unknowns as ?, and a total line', () => {
  const rows = [
    row({ target: 'neon', database: 'h/t10', current: null, pending: 3, lastApplied: null }),
    row({ database: 'h/t2', lastApplied: { version: '0003', at: '2026-12-04T10:00:00.000Z' } }),
    row({ database: 'h/t1', outcome: 'failed', known: false, current: null, pending: null, problems: null, error: { code: 'connect', message: 'nothing is listening on h:5432 (connection refused)' } }),
    row({ target: 'neon', database: 'h/t9', current: '0001', pending: 2, problems: 1 }),
  ];
  assert.equal(formatMatrix(rows, 'status'), [
    'TARGET  DATABASE  CURRENT  HEAD  PENDING  PROBLEMS  LAST APPLIED                      NOTE',
    'aiven   h/t1      ?        0003  ?        ?         ?                                 nothing is listening on h:5432 (connection refused)',
    'aiven   h/t2      0003     0003  0        0         0003 at 2026-12-04T10:00:00.000Z',
    'neon    h/t9      0001     0003  2        1         -',
    'neon    h/t10     base     0003  3        0         -',
    '4 databases: 1 at head, 2 behind (5 pending), 1 with problems, 1 failed',
  ]);
});

test('the move matrix says what each database did, its error, and which were not started', () => {
  const rows = [
    row({ database: 'h/a', did: 'applied 2 (0001 -> 0003)', moved: 2 }),
    row({ database: 'h/b', did: 'already there', moved: 0 }),
    row({ database: 'h/c', outcome: 'failed', current: '0001', pending: 2, error: { code: 'sql', message: 'relation "m_0002" already exists\nmore' } }),
    row({ database: 'h/d', outcome: 'not started', known: false, current: null, pending: null }),
    row({ database: 'h/e', outcome: 'interrupted', current: '0002', pending: 1, error: { code: 'interrupted', message: 'interrupted while running x.up.sql; it was rolled back' } }),
  ];
  assert.equal(formatMatrix(rows, 'move'), [
    'TARGET  DATABASE  RESULT                    CURRENT  HEAD  PENDING  NOTE',
    'aiven   h/a       applied 2 (0001 -> 0003)  0003     0003  0',
    'aiven   h/b       already there             0003     0003  0',
    'aiven   h/c       failed (sql)              0001     0003  2        relation "m_0002" already exists',
    'aiven   h/d       not started               ?        0003  ?        not started: an earlier database failed, or the run was stopped',
    'aiven   h/e       interrupted               0002     0003  1        interrupted while running x.up.sql; it was rolled back',
    '5 databases: 1 moved (2 migrations), 1 already there, 1 failed, 1 interrupted, 1 not started',
  ]);
});

test('review, check and drift matrices: the verdict with its count, failures by code, per-target rows, totals', () => {
  const review = [
    row({ database: 'h/a', current: '0001', pending: 2, verdict: 'findings', range: { from: '0001', to: '0003' }, findings: 3 }),
    row({ database: 'h/b', current: '0001', pending: 2, verdict: 'findings', range: { from: '0001', to: '0003' }, findings: 3 }),
    row({ database: 'h/c', verdict: 'at head', range: null, findings: null }),
    row({ database: 'h/d', current: null, pending: 3, verdict: 'failed', range: { from: null, to: '0003' }, findings: 0 }),
    row({ database: 'h/e', outcome: 'failed', known: false, current: null, pending: null, error: { code: 'state', message: 'dbvc cannot tell which revision h/e is at' } }),
  ];
  assert.equal(formatMatrix(review, 'review'), [
    'TARGET  DATABASE  CURRENT  REVIEWED      VERDICT            FINDINGS  NOTE',
    'aiven   h/a       0001     0001 -> 0003  findings           3',
    'aiven   h/b       0001     0001 -> 0003  findings           3',
    'aiven   h/c       0003     -             at head            -',
    'aiven   h/d       base     base -> 0003  failed on scratch  0',
    'aiven   h/e       ?        -             failed (state)     -         dbvc cannot tell which revision h/e is at',
    '5 databases: 2 with findings, 1 failed on scratch, 1 at head (nothing to review), 1 failed; 2 rehearsals',
  ]);
  const check = [
    row({ target: 'neon', database: '-', verdict: 'differs', differences: ['the migrations have table public.t, schema.sql does not'] }),
    row({ database: '-', head: null, verdict: 'equal', differences: [] }),
  ];
  assert.equal(formatMatrix(check, 'check'), [
    'TARGET  HEAD  RESULT       NOTE',
    'aiven   base  equal',
    'neon    0003  differs (1)  the migrations have table public.t, schema.sql does not',
    '2 targets: 1 equal, 1 differ',
  ]);
  const drift = [row({ database: 'h/a', verdict: 'none', differences: [] }), row({ database: 'h/b', verdict: 'drift', differences: ['aiven has index public.i', 'x'] })];
  assert.equal(formatMatrix(drift, 'drift').slice(1), ['aiven   h/a       0003     no drift', 'aiven   h/b       0003     drift (2)  aiven has index public.i', '2 databases: 1 without drift, 1 drifted']);
});

test('a verdict stands for a failure kind by its exit code; linter and engine failures rank with a failed migration', () => {
  assert.equal([verdictKind(0), verdictKind(3), verdictKind(1)], [null, 'check', 'sql']);
  assert.is(worstExitCode(['connect', 'lint']), 1);
  assert.is(worstExitCode(['interrupted', 'lint']), 130); // a kind missing from the order once outranked everything
  assert.is(worstExitCode(['engine', 'check']), 1);
  assert.is(worstExitCode(['check', 'file']), 3);
});

test('targets: --all needs sql/<db>/ and envs/<db>.env; single-target flags refuse several targets; list errors name file:line, never the password', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dbvc-fleet-core-'));
  try {
    for (const name of ['b', 'a10', 'a9', 'nofile']) await mkdir(join(root, 'sql', name), { recursive: true });
    await mkdir(join(root, 'envs'));
    await writeFile(join(root, 'envs', 'a9.env'), 'DATABASE_URL=postgres://u:Pw@h1/one\n');
    await writeFile(join(root, 'envs', 'a10.env'), 'DATABASE_URL=postgres://u:Pw@h1:6543/two\n');
    await writeFile(join(root, 'envs', 'b.env'), 'DBVC_URLS_FILE=envs/b.urls\n');
    await writeFile(join(root, 'envs', 'b.urls'), '# b\npostgres://u:TopSecret1@h2/x\nnot a url TopSecret1\n');
    await writeFile(join(root, 'envs', 'orphan.env'), 'DATABASE_URL=postgres://h/x\n');
    const bad = caught(() => expandFleet({ all: true }, {}, root));
    assert.equal([bad.code, bad.message], ['config', 'the database URL from envs/b.urls:3 is not a valid URL']);
    await writeFile(join(root, 'envs', 'b.urls'), '# b\npostgres://u:TopSecret1@h2/x\npostgres://u:TopSecret1@h2/y?sslmode=disable\n');
    const targets = expandFleet({ all: true }, {}, root);
    assert.equal(targets.map((t) => [t.name, t.units.map((u) => u.database)]), [['a9', ['h1/one']], ['a10', ['h1:6543/two']], ['b', ['h2/x', 'h2/y']]]);
    assert.is(targets[2].units[1].config.urlSource, 'envs/b.urls:3');
    assert.not.match(JSON.stringify(targets.map((t) => t.units.map((u) => [u.database, u.config.urlSource, u.config.server.kind === 'url' && u.config.server.display]))), /TopSecret1/);
    const checked = expandFleet({ all: true }, {}, root, false); // check: no database, so no env file needed
    assert.equal(checked.map((t) => [t.name, t.units.map((u) => u.database)]), [['a9', ['-']], ['a10', ['-']], ['b', ['-']], ['nofile', ['-']]]);
    assert.is(caught(() => expandFleet({ all: true, db: 'b' }, {}, root)).message, '--all and --db exclude each other');
    assert.is(caught(() => expandFleet({ db: 'a9,b', url: 'postgres://h/x' }, {}, root)).message, '--url applies to one target, and this run has 2 (a9, b)');
    assert.is(caught(() => expandFleet({ db: 'a9', urlsFile: 'envs/missing.urls' }, {}, root)).message, 'the URL list envs/missing.urls of target a9 cannot be read (ENOENT)');
    await writeFile(join(root, 'envs', 'a9.env'), 'DATABASE_URL=postgres://u:Pw@h1/one\nDBVC_URLS_FILE=envs/b.urls\n');
    assert.is(caught(() => expandFleet({ db: 'a9' }, {}, root)).message, 'envs/a9.env sets both DATABASE_URL and DBVC_URLS_FILE');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

const units = (n: number) => Array.from({ length: n }, (_, i) => ({ target: i < n / 2 ? 'a' : 'b', database: `h/db${i}` }) as FleetUnit);

test('runFleet: at most --parallel at once across targets, started in order; after a failure nothing new starts, in flight finishes', async () => {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const work = async (unit: FleetUnit) => {
    const index = Number(unit.database.slice(4));
    started.push(index);
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, index === 5 ? 5 : 20));
    running -= 1;
    if (index === 5) throw new Error('poisoned');
    return index;
  };
  const all = await runFleet(units(20), work, { parallel: 3, keepGoing: true, canary: 0 });
  assert.is(most, 3);
  assert.equal(started, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(all.map((r) => r.outcome).filter((o) => o !== 'ok'), ['failed']);
  started.length = 0;
  const stopped = await runFleet(units(20), work, { parallel: 3, keepGoing: false, canary: 0 });
  assert.equal(started, [0, 1, 2, 3, 4, 5]); // 5 fails first, while 3 and 4 are in flight: they finish, nothing starts
  assert.equal(stopped.map((r) => r.outcome), [...Array(5).fill('ok'), 'failed', ...Array(14).fill('not started')]);
  started.length = 0;
  const canary = await runFleet(units(20), work, { parallel: 3, keepGoing: false, canary: 6 });
  assert.equal(started, [0, 1, 2, 3, 4, 5]);
  assert.is(canary.filter((r) => r.outcome === 'not started').length, 14);
  const error = await runFleet(units(2), work, { parallel: 0, keepGoing: false, canary: 0 }).catch((e) => e);
  assert.is(error.code, 'usage');
});

test.run();
