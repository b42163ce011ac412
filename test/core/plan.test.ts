import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checksumText } from '../../src/core/checksum.js';
import { DbvcError } from '../../src/core/errors.js';
import { caught } from '../helpers/common.js';
import type { SqlFile } from '../../src/core/parse.js';
import {
  listProblems,
  locateDatabase,
  planDowngrade,
  planUpgrade,
  resolveRevision,
  type DatabaseState,
  type Migration,
  type Position,
  type Recorded,
} from '../../src/core/plan.js';

const test = suite('core/plan');

const FOLDER = 'sql/aiven';

function sqlFile(path: string, text: string, alembicRevision?: string): SqlFile {
  const file: SqlFile = { path, text, checksum: checksumText(text), noTransaction: false };
  if (alembicRevision) file.alembicRevision = alembicRevision;
  return file;
}

function migration(version: string, name: string, options: { down?: boolean; alembic?: string } = {}): Migration {
  const stem = `${version}_${name}`;
  const m: Migration = {
    version,
    number: BigInt(version),
    name,
    stem,
    up: sqlFile(`${FOLDER}/${stem}.up.sql`, `CREATE TABLE ${name} (id int);\n`, options.alembic),
  };
  if (options.down !== false) m.down = sqlFile(`${FOLDER}/${stem}.down.sql`, `DROP TABLE ${name};\n`);
  return m;
}

/** 0001_a, 0002_b, 0003_add_orders, 0004_d; all reversible. */
const shop = (): Migration[] => [migration('0001', 'a'), migration('0002', 'b'), migration('0003', 'add_orders'), migration('0004', 'd')];

function recordedFor(m: Migration, overrides: Partial<Recorded> = {}): Recorded {
  return {
    version: m.version,
    event: 'up',
    upChecksum: m.up.checksum,
    downChecksum: m.down?.checksum ?? null,
    downSql: m.down?.text ?? null,
    ...overrides,
  };
}

function stateAt(migrations: Migration[], versions: string[], recorded: Recorded[] = []): DatabaseState {
  return { versions, recorded: new Map(recorded.map((r) => [r.version, r])), failures: [] };
}

function positionAt(migrations: Migration[], index: number): Position {
  const versions = index < 0 ? [] : [migrations[index].version];
  return locateDatabase(migrations, stateAt(migrations, versions), FOLDER);
}


const shown = (e: DbvcError) => ({ code: e.code, message: e.message, hint: e.hint });

// resolveRevision

test('resolveRevision: head, heads and base', () => {
  const ms = shop();
  assert.is(resolveRevision('head', ms, 1), 3);
  assert.is(resolveRevision('heads', ms, 1), 3);
  assert.is(resolveRevision('base', ms, 1), -1);
  assert.is(resolveRevision('head', [], -1), -1);
});

test('resolveRevision: by id, by number (3 -> 0003), by file stem', () => {
  const ms = shop();
  assert.is(resolveRevision('0003', ms, -1), 2);
  assert.is(resolveRevision('3', ms, -1), 2);
  assert.is(resolveRevision('03', ms, -1), 2);
  assert.is(resolveRevision('0003_add_orders', ms, -1), 2);
  assert.is(resolveRevision('0001', ms, 3), 0);
});

test('resolveRevision: numbers compare numerically with unpadded versions', () => {
  const ms = [migration('2', 'two'), migration('0003', 'three'), migration('10', 'ten')];
  assert.is(resolveRevision('10', ms, -1), 2);
  assert.is(resolveRevision('0010', ms, -1), 2);
  assert.is(resolveRevision('002', ms, -1), 0);
});

test('resolveRevision: an Alembic id from a dbvc:alembic-revision directive', () => {
  const ms = [migration('0001', 'a'), migration('0002', 'b', { alembic: '6173b7ed3174' }), migration('0003', 'c')];
  assert.is(resolveRevision('6173b7ed3174', ms, -1), 1);
  assert.is(resolveRevision('6173b7ed3174+1', ms, -1), 2);
});

test('resolveRevision: +N and -N relative to the current revision', () => {
  const ms = shop();
  assert.is(resolveRevision('+1', ms, 1), 2);
  assert.is(resolveRevision('+2', ms, -1), 1);
  assert.is(resolveRevision('+4', ms, -1), 3);
  assert.is(resolveRevision('-1', ms, 2), 1);
  assert.is(resolveRevision('-3', ms, 2), -1);
  assert.is(resolveRevision('+0', ms, 2), 2);
});

test('resolveRevision: head-N, id+N, id-N, number+N, stem-N', () => {
  const ms = shop();
  assert.is(resolveRevision('head-1', ms, -1), 2);
  assert.is(resolveRevision('head-4', ms, -1), -1);
  assert.is(resolveRevision('0002+2', ms, -1), 3);
  assert.is(resolveRevision('0003-2', ms, -1), 0);
  assert.is(resolveRevision('0003-3', ms, -1), -1);
  assert.is(resolveRevision('3+1', ms, -1), 3);
  assert.is(resolveRevision('0003_add_orders-1', ms, -1), 1);
});

test('resolveRevision: +N past head says how far it could go', () => {
  const ms = shop();
  assert.equal(shown(caught(() => resolveRevision('+3', ms, 1))), {
    code: 'usage',
    message: '+3 goes past head (0004)',
    hint: 'from the current revision (0002) at most +2 is possible',
  });
  assert.equal(shown(caught(() => resolveRevision('+5', ms, -1))), {
    code: 'usage',
    message: '+5 goes past head (0004)',
    hint: 'from the current revision (base) at most +4 is possible',
  });
});

test('resolveRevision: +1 at head says it is already head', () => {
  assert.equal(shown(caught(() => resolveRevision('+1', shop(), 3))), {
    code: 'usage',
    message: '+1 goes past head (0004)',
    hint: 'the current revision is already head',
  });
  assert.equal(shown(caught(() => resolveRevision('head+1', shop(), -1))), {
    code: 'usage',
    message: 'head+1 goes past head (0004)',
    hint: 'head is already head',
  });
});

test('resolveRevision: -N below base says how far it could go', () => {
  const ms = shop();
  assert.equal(shown(caught(() => resolveRevision('-3', ms, 1))), {
    code: 'usage',
    message: '-3 goes below base',
    hint: 'from the current revision (0002) at most -2 is possible',
  });
  assert.equal(shown(caught(() => resolveRevision('head-5', ms, -1))), {
    code: 'usage',
    message: 'head-5 goes below base',
    hint: 'from head (0004) at most -4 is possible',
  });
  assert.equal(shown(caught(() => resolveRevision('0002-3', ms, 3))), {
    code: 'usage',
    message: '0002-3 goes below base',
    hint: 'from 0002 (0002) at most -2 is possible',
  });
});

test('resolveRevision: -1 at base says it is already base', () => {
  assert.equal(shown(caught(() => resolveRevision('-1', shop(), -1))), {
    code: 'usage',
    message: '-1 goes below base',
    hint: 'the current revision is already base',
  });
});

test('resolveRevision: an unknown revision lists what is known', () => {
  const hint = 'name a revision by id (0003), number (3) or file stem (0003_add_orders), or use head, base, +N, -N; known: 0001..0004 (head)';
  for (const spec of ['nope', '9', '0009', '0003_other', 'foo+1', 'ae1027a6acf']) {
    assert.equal(shown(caught(() => resolveRevision(spec, shop(), 1))), { code: 'usage', message: `unknown revision "${spec}"`, hint }, spec);
  }
  assert.equal(shown(caught(() => resolveRevision('1', [], -1))), {
    code: 'usage',
    message: 'unknown revision "1"',
    hint: 'name a revision by id (0003), number (3) or file stem (0003_add_orders), or use head, base, +N, -N; known: no migrations yet',
  });
});

// locateDatabase

test('locateDatabase: no row in alembic_version is base', () => {
  assert.equal(locateDatabase(shop(), stateAt(shop(), []), FOLDER), { current: null, index: -1, isLost: false, problems: [], drifted: [], outOfOrder: [], failures: [] });
});

test('locateDatabase: a known revision with matching checksums', () => {
  const ms = shop();
  const position = locateDatabase(ms, stateAt(ms, ['0002'], [recordedFor(ms[0]), recordedFor(ms[1])]), FOLDER);
  assert.equal(position, { current: '0002', index: 1, isLost: false, problems: [], drifted: [], outOfOrder: [], failures: [] });
});

test('locateDatabase: an unknown (Alembic hex) revision is lost, with a hint naming dbvc stamp and the directive', () => {
  const position = locateDatabase(shop(), stateAt(shop(), ['6173b7ed3174']), FOLDER);
  assert.is(position.current, '6173b7ed3174');
  assert.is(position.index, -1);
  assert.is(position.isLost, true);
  assert.equal(position.drifted, []);
  assert.equal(position.problems.map(shown), [
    {
      code: 'state',
      message: 'alembic_version holds revision "6173b7ed3174", which no file in sql/aiven knows (known: 0001..0004)',
      hint: 'if the schema matches one of the files, adopt the database with dbvc stamp REV --purge; if it came from Alembic, add "-- dbvc:alembic-revision 6173b7ed3174" to the up file it corresponds to',
    },
  ]);
});

test('locateDatabase: ids are compared as written, so "3" is not 0003', () => {
  const position = locateDatabase(shop(), stateAt(shop(), ['3']), FOLDER);
  assert.is(position.isLost, true);
  assert.is(position.problems[0].message, 'alembic_version holds revision "3", which no file in sql/aiven knows (known: 0001..0004)');
});

test('locateDatabase: an unknown revision with no migration files', () => {
  const position = locateDatabase([], stateAt([], ['0001']), FOLDER);
  assert.is(position.problems[0].message, 'alembic_version holds revision "0001", which no file in sql/aiven knows (known: none)');
});

test('locateDatabase: two rows in alembic_version are Alembic branches', () => {
  const position = locateDatabase(shop(), stateAt(shop(), ['0002', '0003']), FOLDER);
  assert.equal({ ...position, problems: position.problems.map(shown) }, {
    current: null,
    index: -1,
    isLost: true,
    drifted: [],
    outOfOrder: [],
    failures: [],
    problems: [
      {
        code: 'state',
        message: 'alembic_version holds 2 rows (0002, 0003): the database is on several Alembic branches',
        hint: 'merge the branches with Alembic first, or pick the revision that is really applied with dbvc stamp REV --purge',
      },
    ],
  });
});

test('locateDatabase: an applied up file changed on disk is drift, with both checksums', () => {
  const ms = shop();
  const old = checksumText('CREATE TABLE b (id bigint);\n');
  const position = locateDatabase(ms, stateAt(ms, ['0003'], [recordedFor(ms[0]), recordedFor(ms[1], { upChecksum: old }), recordedFor(ms[2])]), FOLDER);
  assert.is(position.index, 2);
  assert.is(position.isLost, false);
  assert.equal(position.drifted, [ms[1]]);
  assert.is(position.problems.length, 1);
  const [drift] = position.problems;
  assert.equal(
    { code: drift.code, file: drift.file, message: drift.message, lines: drift.lines, hint: drift.hint },
    {
      code: 'state',
      file: 'sql/aiven/0002_b.up.sql',
      message: 'sql/aiven/0002_b.up.sql changed after it was applied',
      lines: [`recorded: ${old}`, `on disk:  ${ms[1].up.checksum}`],
      hint: 'restore the file as it was applied, or write a new migration for the change; if the new text is what is deployed, accept it with dbvc repair',
    },
  );
});

test('locateDatabase: a version applied without a history row (e.g. stamped by Alembic) is not drift', () => {
  const ms = shop();
  const position = locateDatabase(ms, stateAt(ms, ['0002']), FOLDER);
  assert.equal(position.problems, []);
});

test('locateDatabase: the alembic-revision directive makes an Alembic hex id known', () => {
  const ms = [migration('0001', 'a'), migration('0002', 'b', { alembic: '6173b7ed3174' }), migration('0003', 'c')];
  assert.equal(locateDatabase(ms, stateAt(ms, ['6173b7ed3174']), FOLDER), {
    current: '6173b7ed3174',
    index: 1,
    isLost: false,
    problems: [],
    drifted: [],
    outOfOrder: [],
    failures: [],
  });
});

// planUpgrade

test('planUpgrade: from base to head, each step chained from the previous one', () => {
  const ms = shop();
  const plan = planUpgrade(ms, positionAt(ms, -1), 3);
  assert.equal(plan, {
    direction: 'up',
    from: null,
    to: '0004',
    fromIndex: -1,
    toIndex: 3,
    steps: ms.map((m, i) => ({ direction: 'up', migration: m, from: i === 0 ? null : ms[i - 1].version, to: m.version, sql: m.up.text, file: m.up.path, noTransaction: false, skip: 0 })),
  });
});

test('planUpgrade: from the middle to a revision below head', () => {
  const ms = shop();
  const plan = planUpgrade(ms, positionAt(ms, 0), 2);
  assert.equal(plan.steps.map((s) => [s.from, s.to, s.file]), [
    ['0001', '0002', 'sql/aiven/0002_b.up.sql'],
    ['0002', '0003', 'sql/aiven/0003_add_orders.up.sql'],
  ]);
  assert.equal([plan.from, plan.to, plan.fromIndex, plan.toIndex], ['0001', '0003', 0, 2]);
});

test('planUpgrade: to the current revision is an empty plan', () => {
  const ms = shop();
  assert.equal(planUpgrade(ms, positionAt(ms, 3), 3).steps, []);
});

test('planUpgrade: the first step starts from the Alembic id stored in alembic_version', () => {
  const ms = [migration('0001', 'a'), migration('0002', 'b', { alembic: '6173b7ed3174' }), migration('0003', 'c')];
  const position = locateDatabase(ms, stateAt(ms, ['6173b7ed3174']), FOLDER);
  const plan = planUpgrade(ms, position, 2);
  assert.equal(plan.steps.map((s) => [s.from, s.to]), [['6173b7ed3174', '0003']]);
  assert.is(plan.from, '6173b7ed3174');
});

test('planUpgrade: a target below the current revision is refused, saying what is possible', () => {
  const ms = shop();
  assert.equal(shown(caught(() => planUpgrade(ms, positionAt(ms, 1), 0))), {
    code: 'usage',
    message: 'cannot upgrade to 0001: the database is at 0002, which is above it',
    hint: 'to go down use dbvc downgrade 0001; upgrade can reach 0003..0004',
  });
  assert.equal(shown(caught(() => planUpgrade(ms, positionAt(ms, 3), -1))), {
    code: 'usage',
    message: 'cannot upgrade to base: the database is at 0004, which is above it',
    hint: 'to go down use dbvc downgrade base; upgrade can reach nothing (already at head)',
  });
});

// planDowngrade

test('planDowngrade: from head to base, steps chained downwards with the down files', () => {
  const ms = shop();
  const plan = planDowngrade(ms, positionAt(ms, 3), -1, new Map());
  assert.equal(plan, {
    direction: 'down',
    from: '0004',
    to: null,
    fromIndex: 3,
    toIndex: -1,
    steps: [3, 2, 1, 0].map((i) => ({
      direction: 'down',
      migration: ms[i],
      from: ms[i].version,
      to: i === 0 ? null : ms[i - 1].version,
      sql: ms[i].down!.text,
      file: ms[i].down!.path,
      noTransaction: false,
      skip: 0,
    })),
  });
});

test('planDowngrade: to the current revision is an empty plan', () => {
  const ms = shop();
  assert.equal(planDowngrade(ms, positionAt(ms, 2), 2, new Map()).steps, []);
});

test('planDowngrade: a target above the current revision is refused, saying what is possible', () => {
  const ms = shop();
  assert.equal(shown(caught(() => planDowngrade(ms, positionAt(ms, 2), 3, new Map()))), {
    code: 'usage',
    message: 'cannot downgrade to 0004: the database is at 0003, which is below it',
    hint: 'to go up use dbvc upgrade 0004; downgrade can reach base..0002',
  });
  assert.equal(shown(caught(() => planDowngrade(ms, positionAt(ms, -1), 0, new Map()))), {
    code: 'usage',
    message: 'cannot downgrade to 0001: the database is at base, which is below it',
    hint: 'to go up use dbvc upgrade 0001; downgrade can reach nothing (already at base)',
  });
});

test('planDowngrade: a missing down file on the way is refused before any step, listing the file', () => {
  const ms = [migration('0001', 'a'), migration('0002', 'backfill', { down: false }), migration('0003', 'c')];
  const error = caught(() => planDowngrade(ms, positionAt(ms, 2), -1, new Map()));
  assert.equal(
    { code: error.code, message: error.message, lines: error.lines, hint: error.hint },
    {
      code: 'irreversible',
      message: 'cannot downgrade to base: a migration on the way has no down file',
      lines: ['missing: sql/aiven/0002_backfill.down.sql'],
      hint: 'write the down file(s), or downgrade only as far as the first irreversible migration; nothing was run',
    },
  );
});

test('planDowngrade: several missing down files are all listed', () => {
  const ms = [migration('0001', 'a', { down: false }), migration('0002', 'b'), migration('0003', 'c', { down: false })];
  const error = caught(() => planDowngrade(ms, positionAt(ms, 2), -1, new Map()));
  assert.is(error.message, 'cannot downgrade to base: 2 migrations on the way have no down file');
  assert.equal(error.lines, ['missing: sql/aiven/0003_c.down.sql', 'missing: sql/aiven/0001_a.down.sql']);
});

test('planDowngrade: stopping above an irreversible migration is fine', () => {
  const ms = [migration('0001', 'a'), migration('0002', 'backfill', { down: false }), migration('0003', 'c')];
  const plan = planDowngrade(ms, positionAt(ms, 2), 1, new Map());
  assert.equal(plan.steps.map((s) => [s.from, s.to]), [['0003', '0002']]);
});

test('planDowngrade: the down SQL recorded in the history is used when the down file is gone', () => {
  const ms = [migration('0001', 'a'), migration('0002', 'b', { down: false })];
  const recorded = new Map([['0002', recordedFor(ms[1], { downSql: 'DROP TABLE b;\n', downChecksum: checksumText('DROP TABLE b;\n') })]]);
  const plan = planDowngrade(ms, positionAt(ms, 1), -1, recorded);
  assert.equal(plan.steps.map((s) => ({ from: s.from, to: s.to, sql: s.sql, file: s.file })), [
    { from: '0002', to: '0001', sql: 'DROP TABLE b;\n', file: 'sql/aiven/0002_b.down.sql (as recorded in dbvc_history)' },
    { from: '0001', to: null, sql: 'DROP TABLE a;\n', file: 'sql/aiven/0001_a.down.sql' },
  ]);
});

test('planDowngrade: the down file on disk wins over the recorded SQL', () => {
  const ms = [migration('0001', 'a')];
  const recorded = new Map([['0001', recordedFor(ms[0], { downSql: 'DROP TABLE a CASCADE;\n' })]]);
  const plan = planDowngrade(ms, positionAt(ms, 0), -1, recorded);
  assert.equal(plan.steps.map((s) => [s.sql, s.file]), [['DROP TABLE a;\n', 'sql/aiven/0001_a.down.sql']]);
});

test('planDowngrade: the first step starts from the Alembic id stored in alembic_version', () => {
  const ms = [migration('0001', 'a'), migration('0002', 'b', { alembic: '6173b7ed3174' })];
  const position = locateDatabase(ms, stateAt(ms, ['6173b7ed3174']), FOLDER);
  const plan = planDowngrade(ms, position, -1, new Map());
  assert.equal(plan.steps.map((s) => [s.from, s.to]), [['6173b7ed3174', '0001'], ['0001', null]]);
});


// out of order (issue 12)

test('locateDatabase: an unrecorded file below the revision of a database dbvc moved is out of order, planned only when allowed', () => {
  const ms = shop();
  const state = { ...stateAt(ms, ['0004'], [ms[0], ms[1], ms[3]].map((m) => recordedFor(m))), isMovedByDbvc: true };
  const position = locateDatabase(ms, state, FOLDER);
  assert.equal(position.outOfOrder.map((m) => m.version), ['0003']);
  assert.equal(listProblems(position, ms).map(shown), [{
    code: 'state',
    message: 'sql/aiven/0003_add_orders.up.sql is out of order: it was never applied, and the database is already at 0004, above it',
    hint: 'renumber it above head with dbvc renumber 0003 (renames the pair to the next free number), or apply it where it stands with dbvc upgrade --allow-out-of-order (recorded as such in dbvc_history)',
  }]);
  assert.equal(listProblems(position, ms, undefined, true), []);
  assert.equal(planUpgrade(ms, position, 3).steps, []);
  const allowed = planUpgrade(ms, position, 3, true).steps;
  assert.equal(allowed.map((s) => [s.migration.version, s.from, s.to, s.isOutOfOrder]), [['0003', '0004', '0004', true]]);
});

test('locateDatabase: unrecorded files of a database no dbvc run has moved are not out of order (they get adopted)', () => {
  const ms = shop();
  const position = locateDatabase(ms, { ...stateAt(ms, ['0004']), isMovedByDbvc: false }, FOLDER);
  assert.equal(position.outOfOrder, []);
  assert.equal(listProblems(position, ms), []);
});

test.run();
