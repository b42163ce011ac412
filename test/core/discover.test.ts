import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { discoverMigrations, type DirEntry } from '../../src/core/discover.js';
import { DbvcError } from '../../src/core/errors.js';

const test = suite('core/discover');

const FOLDER = 'sql/local';
const RENAME = 'rename it to NNNN_name.up.sql / NNNN_name.down.sql (letters, digits and _ in the name)';

const files = (...names: string[]): DirEntry[] => names.map((name) => ({ name, kind: 'file' }));

function problemsOf(entries: DirEntry[]) {
  return discoverMigrations(entries, FOLDER).problems.map((p) => {
    assert.instance(p, DbvcError);
    return { code: p.code, file: p.file, message: p.message, hint: p.hint };
  });
}

function fileProblem(name: string, what: string, hint: string) {
  return { code: 'file', file: `${FOLDER}/${name}`, message: `${FOLDER}/${name} ${what}`, hint };
}

test('orders versions numerically, not as text: 2, 0003, 10', () => {
  const { pairs, problems } = discoverMigrations(
    files('10_ten.up.sql', '10_ten.down.sql', '2_two.up.sql', '2_two.down.sql', '0003_three.up.sql', '0003_three.down.sql'),
    FOLDER,
  );
  assert.equal(problems, []);
  assert.equal(pairs.map((p) => p.version), ['2', '0003', '10']);
  assert.equal(pairs.map((p) => p.number), [2n, 3n, 10n]);
});

test('orders independently of the order the directory listed the files in', () => {
  const names = ['0001_a.up.sql', '0002_b.up.sql', '0010_c.up.sql', '0100_d.up.sql', '1000_e.up.sql'];
  const { pairs } = discoverMigrations(files(...[...names].reverse()), FOLDER);
  assert.equal(pairs.map((p) => p.up), names);
});

test('schema.sql beside the migrations is left alone; Schema.sql is still a problem', () => {
  const { pairs, problems } = discoverMigrations(files('0001_a.up.sql', '0001_a.down.sql', 'schema.sql'), FOLDER);
  assert.equal(pairs.map((p) => p.up), ['0001_a.up.sql']);
  assert.equal(problems, []);
  assert.equal(problemsOf(files('Schema.sql')).length, 1);
});

test('pairs each up file with its down file', () => {
  const { pairs, problems } = discoverMigrations(
    files('0002_add_orders.down.sql', '0001_create_product.up.sql', '0002_add_orders.up.sql', '0001_create_product.down.sql'),
    FOLDER,
  );
  assert.equal(problems, []);
  assert.equal(pairs, [
    { version: '0001', number: 1n, name: 'create_product', stem: '0001_create_product', up: '0001_create_product.up.sql', down: '0001_create_product.down.sql' },
    { version: '0002', number: 2n, name: 'add_orders', stem: '0002_add_orders', up: '0002_add_orders.up.sql', down: '0002_add_orders.down.sql' },
  ]);
});

test('a missing down file is allowed: the pair has no down and there is no problem', () => {
  const { pairs, problems } = discoverMigrations(files('0001_a.up.sql', '0001_a.down.sql', '0002_backfill.up.sql'), FOLDER);
  assert.equal(problems, []);
  assert.equal(pairs[1], { version: '0002', number: 2n, name: 'backfill', stem: '0002_backfill', up: '0002_backfill.up.sql' });
  assert.is(pairs[0].down, '0001_a.down.sql');
});

test('an empty folder has no pairs and no problems', () => {
  assert.equal(discoverMigrations([], FOLDER), { pairs: [], problems: [] });
});

test('README.md, .gitkeep, hidden files and unrelated directories are ignored', () => {
  const entries: DirEntry[] = [
    ...files('README.md', '.gitkeep', '.DS_Store', '.0001_hidden.up.sql', '.0002_x.sql', 'notes.txt'),
    { name: 'archive', kind: 'dir' },
    { name: '.git', kind: 'dir' },
    ...files('0001_a.up.sql'),
  ];
  const { pairs, problems } = discoverMigrations(entries, FOLDER);
  assert.equal(problems, []);
  assert.equal(pairs.map((p) => p.up), ['0001_a.up.sql']);
});

test('2_x beside 0002_y is a duplicate version, naming the file', () => {
  assert.equal(problemsOf(files('0002_y.up.sql', '2_x.up.sql')), [
    fileProblem('2_x.up.sql', 'has the same version number as 0002_y.up.sql', 'give one of them the next free number (dbvc revision picks it)'),
  ]);
});

test('duplicate versions with their down files: both the up and the down are reported', () => {
  assert.equal(problemsOf(files('0002_y.up.sql', '0002_y.down.sql', '2_x.up.sql', '2_x.down.sql')), [
    fileProblem('2_x.up.sql', 'has the same version number as 0002_y.up.sql', 'give one of them the next free number (dbvc revision picks it)'),
    fileProblem('2_x.down.sql', 'has the same version number as 0002_y.down.sql', 'keep one down file per version'),
  ]);
});

test('0003_x.sql (no direction) is an error naming the file', () => {
  assert.equal(problemsOf(files('0003_x.sql')), [fileProblem('0003_x.sql', 'does not end in .up.sql or .down.sql', RENAME)]);
});

test('0003-x.up.sql (dash instead of _) is an error naming the file', () => {
  assert.equal(problemsOf(files('0003-x.up.sql')), [fileProblem('0003-x.up.sql', 'needs a _ between the version and the name', RENAME)]);
});

test('a down file without an up file is an error naming the file', () => {
  assert.equal(problemsOf(files('0001_a.up.sql', '0004_x.down.sql')), [
    fileProblem('0004_x.down.sql', 'is a down file without an up file', 'add 0004_x.up.sql or remove it'),
  ]);
});

test('a down file whose name differs from its up file is an error naming the file', () => {
  assert.equal(problemsOf(files('0003_a.up.sql', '0003_b.down.sql')), [
    fileProblem('0003_b.down.sql', 'does not match its up file 0003_a.up.sql', 'rename it to 0003_a.down.sql'),
  ]);
});

test('.UP.SQL, .Down.Sql and other upper-case extensions are errors naming the file', () => {
  assert.equal(problemsOf(files('0003_x.UP.SQL', '0004_y.Down.Sql')), [
    fileProblem('0003_x.UP.SQL', 'has an upper-case extension; use .up.sql or .down.sql', RENAME),
    fileProblem('0004_y.Down.Sql', 'has an upper-case extension; use .up.sql or .down.sql', RENAME),
  ]);
});

test('a version of 33 digits is an error; 32 digits is fine', () => {
  const v32 = '1'.padStart(32, '0');
  const v33 = '2'.padStart(33, '0');
  const { pairs, problems } = discoverMigrations(files(`${v32}_ok.up.sql`, `${v33}_long.up.sql`, `${v33}_long.down.sql`), FOLDER);
  assert.equal(pairs.map((p) => p.version), [v32]);
  const shown = problems.map((p) => ({ code: p.code, file: p.file, message: p.message, hint: p.hint }));
  assert.equal(shown, [
    fileProblem(`${v33}_long.down.sql`, 'has a version of 33 digits; alembic_version holds at most 32', RENAME),
    fileProblem(`${v33}_long.up.sql`, 'has a version of 33 digits; alembic_version holds at most 32', RENAME),
  ]);
});

test('a directory named like a migration is an error naming it', () => {
  const entries: DirEntry[] = [
    { name: '0005_x.up.sql', kind: 'dir' },
    { name: '0006_old', kind: 'dir' },
    { name: '0007_link.up.sql', kind: 'other' },
  ];
  assert.equal(problemsOf(entries), [
    fileProblem('0005_x.up.sql', 'is a directory, not a migration file', 'move it out of the migrations folder'),
    fileProblem('0006_old', 'is a directory, not a migration file', 'move it out of the migrations folder'),
    fileProblem('0007_link.up.sql', 'is a special file or broken link, not a migration file', 'move it out of the migrations folder'),
  ]);
});

test('names with spaces, quotes or non-ASCII letters are errors naming the file', () => {
  const bad = ['0006_add orders.up.sql', "0007_it's.up.sql", '0008_"q".up.sql', '0009_café.up.sql', '0010_naïve.down.sql'];
  assert.equal(
    problemsOf(files(...bad)),
    [...bad].sort().map((name) => fileProblem(name, 'has a name with characters other than letters, digits and _', RENAME)),
  );
});

test('a .sql file without a version number is an error, not silently skipped', () => {
  assert.equal(problemsOf(files('seed.sql', '_0001_x.up.sql')), [
    fileProblem('_0001_x.up.sql', 'does not start with a version number', RENAME),
    fileProblem('seed.sql', 'does not start with a version number', RENAME),
  ]);
});

test('a file starting with digits but not ending in .up.sql/.down.sql is an error (backup copies too)', () => {
  assert.equal(problemsOf(files('0003_x.up.sql.bak', '0004_y.up.sql~')), [
    fileProblem('0003_x.up.sql.bak', 'does not end in .up.sql or .down.sql', RENAME),
    fileProblem('0004_y.up.sql~', 'does not end in .up.sql or .down.sql', RENAME),
  ]);
});

test('every malformed file is reported, not only the first, and good files still pair', () => {
  const { pairs, problems } = discoverMigrations(
    files('0001_ok.up.sql', '0001_ok.down.sql', '0002-bad.up.sql', '0003_bad.sql', '0009_orphan.down.sql', '0004_x.UP.SQL'),
    FOLDER,
  );
  assert.equal(pairs.map((p) => p.stem), ['0001_ok']);
  assert.equal(problems.map((p) => p.file), [
    `${FOLDER}/0002-bad.up.sql`,
    `${FOLDER}/0003_bad.sql`,
    `${FOLDER}/0004_x.UP.SQL`,
    `${FOLDER}/0009_orphan.down.sql`,
  ]);
  assert.ok(problems.every((p) => p.code === 'file'));
});

test.run();
