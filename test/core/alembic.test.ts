import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readAlembicScripts, renderAlembicFiles, type ExistingMigrations } from '../../src/core/alembic.js';
import { DbvcError } from '../../src/core/errors.js';
import { parseFile } from '../../src/core/parse.js';

const test = suite('core/alembic');

// Scripts shaped exactly as Alembic 1.8 prints them (see test/alembic/alembic.test.ts for the real thing).
const VERSION_TABLE = 'CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);\n\n';
const EMPTY: ExistingMigrations = { numbers: [], imported: new Map() };
const BRANCH_HINT = 'dbvc keeps one line of migrations: make the Alembic history linear first (one head, no merges), or write a baseline SQL file and adopt the database with dbvc stamp REV --purge; nothing was written';

interface Step {
  from: string; // '' is base
  to: string;
  sql: string; // statements as Alembic prints them: "stmt;\n\n" each
}

function upgradeScript(steps: Step[]): string {
  let out = 'BEGIN;\n\n' + VERSION_TABLE;
  for (const s of steps) {
    out += `-- Running upgrade ${s.from} -> ${s.to}\n\n${s.sql}`;
    out += s.from === ''
      ? `INSERT INTO alembic_version (version_num) VALUES ('${s.to}') RETURNING alembic_version.version_num;\n\n`
      : `UPDATE alembic_version SET version_num='${s.to}' WHERE alembic_version.version_num = '${s.from}';\n\n`;
  }
  return out + 'COMMIT;\n\n';
}

/** Steps as upgrades (from parent to revision); printed from head back to base, as alembic downgrade head:base does. */
function downgradeScript(steps: Step[]): string {
  let out = 'BEGIN;\n\n';
  for (const s of [...steps].reverse()) {
    out += `-- Running downgrade ${s.to} -> ${s.from}\n\n${s.sql}`;
    out += s.from === ''
      ? `DELETE FROM alembic_version WHERE alembic_version.version_num = '${s.to}';\n\nDROP TABLE alembic_version;\n\n`
      : `UPDATE alembic_version SET version_num='${s.from}' WHERE alembic_version.version_num = '${s.to}';\n\n`;
  }
  return out + 'COMMIT;\n\n';
}

const FUNCTION_SQL = [
  "CREATE TYPE mood AS ENUM ('sad', 'ok');\n\n",
  'CREATE FUNCTION label(p text) RETURNS text LANGUAGE plpgsql AS $body$\nBEGIN\n  -- a comment; with a semicolon\n\n',
  "  RETURN p || ' 100%' || $$;$$;\nEND\n$body$;\n\n",
  "COMMENT ON FUNCTION label(text) IS 'it''s; fine';\n\n",
].join('');

function convert(up: string, down?: string, existing = EMPTY) {
  const history = readAlembicScripts(up, down);
  const rendered = renderAlembicFiles(history.revisions, existing);
  return { files: rendered.files, warnings: [...history.warnings, ...rendered.warnings], revisions: history.revisions };
}

function errorOf(run: () => unknown): { code: string; message: string; hint?: string } {
  try {
    run();
  } catch (error) {
    assert.instance(error, DbvcError);
    const e = error as DbvcError;
    return { code: e.code, message: e.message, hint: e.hint };
  }
  throw new Error('expected a DbvcError');
}

const header = (stem: string, direction: 'upgrade' | 'downgrade', id: string, rest: string, extra = '') => {
  const command = direction === 'upgrade' ? 'alembic upgrade base:head --sql' : 'alembic downgrade head:base --sql';
  return `-- ${stem} (${direction}): Alembic revision ${id}${rest}.\n` +
    `-- Imported from what \`${command}\` printed, without Alembic's alembic_version and BEGIN/COMMIT statements.\n` +
    `-- dbvc:alembic-revision ${id}\n${extra}\n`;
};

const TWO = [
  { from: '', to: '6173b7ed3174', sql: FUNCTION_SQL },
  { from: '6173b7ed3174', to: 'ae1027a6acf', sql: 'CREATE INDEX product_name_idx ON product (name);\n\n' },
];
const TWO_DOWN = [
  { from: '', to: '6173b7ed3174', sql: 'DROP FUNCTION label(text);\n\nDROP TYPE mood;\n\n' },
  { from: '6173b7ed3174', to: 'ae1027a6acf', sql: 'DROP INDEX product_name_idx;\n\n' },
];

test('splits at the Running comments, drops the bookkeeping and BEGIN/COMMIT, keeps the SQL byte for byte', () => {
  const { files, warnings } = convert(upgradeScript(TWO), downgradeScript(TWO_DOWN));
  assert.equal(files, [
    { name: '0001_alembic_6173b7ed3174.up.sql', text: header('0001_alembic_6173b7ed3174', 'upgrade', '6173b7ed3174', ', the first revision') + FUNCTION_SQL.trimEnd() + '\n' },
    { name: '0001_alembic_6173b7ed3174.down.sql', text: header('0001_alembic_6173b7ed3174', 'downgrade', '6173b7ed3174', ', the first revision') + 'DROP FUNCTION label(text);\n\nDROP TYPE mood;\n' },
    { name: '0002_alembic_ae1027a6acf.up.sql', text: header('0002_alembic_ae1027a6acf', 'upgrade', 'ae1027a6acf', ', revises 6173b7ed3174') + 'CREATE INDEX product_name_idx ON product (name);\n' },
    { name: '0002_alembic_ae1027a6acf.down.sql', text: header('0002_alembic_ae1027a6acf', 'downgrade', 'ae1027a6acf', ', revises 6173b7ed3174') + 'DROP INDEX product_name_idx;\n' },
  ]);
  assert.equal(warnings, []);
});

test('the files are dbvc migrations that declare their Alembic revision', () => {
  const { files } = convert(upgradeScript(TWO), downgradeScript(TWO_DOWN));
  const parsed = files.map((f) => parseFile(`sql/local/${f.name}`, new TextEncoder().encode(f.text)));
  assert.equal(parsed.map((p) => p.problems), [[], [], [], []]);
  assert.equal(parsed.map((p) => p.file!.alembicRevision), ['6173b7ed3174', '6173b7ed3174', 'ae1027a6acf', 'ae1027a6acf']);
  assert.equal(parsed.map((p) => p.file!.noTransaction), [false, false, false, false]);
});

test('transaction_per_migration: the BEGIN; / COMMIT; between revisions are dropped too', () => {
  const script = upgradeScript(TWO).replace(/(\n\n)(-- Running upgrade 6173b7ed3174)/, '$1COMMIT;\n\nBEGIN;\n\n$2');
  assert.match(script, /RETURNING alembic_version.version_num;\n\nCOMMIT;\n\nBEGIN;\n\n-- Running upgrade 6173b7ed3174/);
  const { files, warnings } = convert(script);
  assert.equal(files.map((f) => f.text.split('\n\n')[1]), [FUNCTION_SQL.split('\n\n')[0], 'CREATE INDEX product_name_idx ON product (name);\n']);
  assert.equal(warnings, ['no downgrade SQL for any of the 2 revisions: wrote up files only, so dbvc cannot downgrade across them (import the output of alembic downgrade head:base --sql too)']);
});

test('autocommit_block (COMMIT; ... BEGIN; inside a revision) marks the file no-transaction and says so', () => {
  const steps = [TWO[0], { from: '6173b7ed3174', to: 'bbb', sql: 'COMMIT;\n\nCREATE INDEX CONCURRENTLY p2 ON product (id);\n\nBEGIN;\n\n' }];
  const { files, warnings } = convert(upgradeScript(steps));
  assert.is(files[1].text, header('0002_alembic_bbb', 'upgrade', 'bbb', ', revises 6173b7ed3174', '-- dbvc:no-transaction\n') + 'CREATE INDEX CONCURRENTLY p2 ON product (id);\n');
  assert.is(parseFile('x/0002_alembic_bbb.up.sql', new TextEncoder().encode(files[1].text)).file!.noTransaction, true);
  assert.is(warnings[1], '0002_alembic_bbb.up.sql: Alembic runs part of revision bbb outside a transaction (COMMIT; ... BEGIN; as autocommit_block() prints); the file is marked -- dbvc:no-transaction and those two statements are left out');
});

test('a "-- Running upgrade" line inside a dollar-quoted body is SQL, not a new revision', () => {
  const body = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n-- Running upgrade a -> b\nSELECT 1\n$$;\n\n';
  const { files } = convert(upgradeScript([{ from: '', to: 'a1', sql: body }]));
  assert.equal(files.map((f) => f.name), ['0001_alembic_a1.up.sql']);
  assert.ok(files[0].text.endsWith(body.trimEnd() + '\n'));
});

test('two heads (a revision with two children) are refused, naming the revisions', () => {
  const steps = [TWO[0], TWO[1], { from: '6173b7ed3174', to: 'bbb', sql: 'SELECT 2;\n\n' }];
  assert.equal(errorOf(() => convert(upgradeScript(steps))), {
    code: 'file',
    message: 'the Alembic history has 2 heads (ae1027a6acf, bbb): revision 6173b7ed3174 has 2 children (ae1027a6acf, bbb)',
    hint: BRANCH_HINT,
  });
});

test('a merge revision and two bases are refused too', () => {
  const merge = [...TWO, { from: '', to: 'ccc', sql: 'SELECT 3;\n\n' }, { from: 'ae1027a6acf, ccc', to: 'ddd', sql: 'SELECT 4;\n\n' }];
  assert.equal(errorOf(() => convert(upgradeScript(merge))), {
    code: 'file', message: 'the Alembic history has branches: revision ddd (the upgrade script line 36) merges ae1027a6acf and ccc', hint: BRANCH_HINT,
  });
  const bases = [...TWO, { from: '', to: 'ccc', sql: 'SELECT 3;\n\n' }];
  assert.equal(errorOf(() => convert(upgradeScript(bases))), {
    code: 'file', message: 'the Alembic history has 2 bases (6173b7ed3174, ccc) and 2 heads (ae1027a6acf, ccc)', hint: BRANCH_HINT,
  });
});

test('a revision missing from the downgrade script gets no down file and a warning', () => {
  const { files, warnings } = convert(upgradeScript(TWO), downgradeScript(TWO_DOWN.slice(1)).replace("UPDATE alembic_version SET version_num='6173b7ed3174' WHERE alembic_version.version_num = 'ae1027a6acf';\n\n", ''));
  assert.equal(files.map((f) => f.name), ['0001_alembic_6173b7ed3174.up.sql', '0002_alembic_ae1027a6acf.up.sql', '0002_alembic_ae1027a6acf.down.sql']);
  assert.equal(warnings, ['0001_alembic_6173b7ed3174: the downgrade script does not downgrade 6173b7ed3174; wrote no down file, so dbvc cannot downgrade across it']);
});

test('an empty downgrade (Alembic\'s pass prints no SQL) gets no down file and a warning', () => {
  const { files, warnings } = convert(upgradeScript(TWO), downgradeScript([TWO_DOWN[0], { ...TWO_DOWN[1], sql: '' }]));
  assert.equal(files.map((f) => f.name), ['0001_alembic_6173b7ed3174.up.sql', '0001_alembic_6173b7ed3174.down.sql', '0002_alembic_ae1027a6acf.up.sql']);
  assert.equal(warnings, ['0002_alembic_ae1027a6acf: Alembic printed no SQL for the downgrade of ae1027a6acf (an empty downgrade(), such as pass); wrote no down file, so dbvc treats it as irreversible']);
});

test('an empty upgrade still gets an up file, so the revision can be recorded', () => {
  const { files, warnings } = convert(upgradeScript([TWO[0], { ...TWO[1], sql: '-- only a comment\n\n' }]), downgradeScript(TWO_DOWN));
  assert.ok(files[2].text.endsWith('\n\nSELECT 1; -- Alembic printed no SQL for this upgrade\n'));
  assert.equal(parseFile('x/0002_a.up.sql', new TextEncoder().encode(files[2].text)).problems, []);
  assert.equal(warnings, ['0002_alembic_ae1027a6acf.up.sql: Alembic printed no SQL for the upgrade of ae1027a6acf; the file holds SELECT 1 so dbvc can record the revision']);
});

test('a script that does not start at base, swapped scripts and non-Alembic text are refused', () => {
  assert.equal(errorOf(() => convert(upgradeScript(TWO.slice(1)))), {
    code: 'usage',
    message: 'the upgrade script starts at revision 6173b7ed3174, not at base (line 8 runs 6173b7ed3174 -> ae1027a6acf)',
    hint: 'import the whole history: alembic upgrade base:head --sql; nothing was written',
  });
  assert.equal(errorOf(() => convert(downgradeScript(TWO_DOWN))), {
    code: 'usage',
    message: 'the upgrade script runs a downgrade at line 3 ("-- Running downgrade ae1027a6acf -> 6173b7ed3174")',
    hint: 'give the output of alembic upgrade base:head --sql as the upgrade script; nothing was written',
  });
  assert.equal(errorOf(() => convert('CREATE TABLE t (id int);\n')), {
    code: 'file',
    message: 'the upgrade script has no "-- Running upgrade" comments: it is not what alembic upgrade base:head --sql prints',
    hint: 'save the output of alembic upgrade base:head --sql and import that; nothing was written',
  });
});

test('a downgrade script from another history is refused', () => {
  const other = downgradeScript([TWO_DOWN[0], { ...TWO_DOWN[1], to: 'fff' }]);
  assert.equal(errorOf(() => convert(upgradeScript(TWO), other)).message, 'the downgrade script line 3 downgrades revision fff, which the upgrade script does not run');
  const moved = downgradeScript(TWO_DOWN).replace('-- Running downgrade ae1027a6acf -> 6173b7ed3174', '-- Running downgrade ae1027a6acf -> ');
  assert.equal(errorOf(() => convert(upgradeScript(TWO), moved)).message, 'the downgrade script line 3 downgrades ae1027a6acf to base, but the upgrade script has it revise 6173b7ed3174');
});

test('a script Alembic stopped part-way through (BEGIN; without COMMIT;) is refused', () => {
  const cut = upgradeScript(TWO).replace(/COMMIT;\n\n$/, '');
  assert.equal(errorOf(() => convert(cut)), {
    code: 'file',
    message: 'the upgrade script opens a transaction (BEGIN;) that it never commits: Alembic stopped part-way',
    hint: 'look at the errors alembic upgrade base:head --sql printed; nothing was written',
  });
});

test('with Alembic\'s log lines (2>&1) the messages name the files; an error line is refused', () => {
  const logged = [
    'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.',
    'INFO  [alembic.runtime.migration] Running upgrade  -> 6173b7ed3174, Create product & mood, with a very long description',
    'INFO  [alembic.runtime.migration] Running upgrade 6173b7ed3174 -> ae1027a6acf, índex names',
  ].join('\n') + '\n' + upgradeScript(TWO);
  const { files } = convert(logged);
  assert.equal(files.map((f) => f.name), ['0001_create_product_mood_with_a_very_long.up.sql', '0002_index_names.up.sql']);
  assert.ok(files[0].text.startsWith('-- 0001_create_product_mood_with_a_very_long (upgrade): Alembic revision 6173b7ed3174 "Create product & mood, with a very long description", the first revision.\n'));
  const failed = upgradeScript(TWO.slice(0, 1)) + "FAILED: Multiple head revisions are present for given argument 'head'\n";
  assert.equal(errorOf(() => convert(failed)).message, "the upgrade script holds an Alembic error at line 26: Multiple head revisions are present for given argument 'head'");
});

test('numbering starts above the folder\'s highest version; numeric Alembic ids must land on their own number', () => {
  const after = convert(upgradeScript(TWO), undefined, { numbers: [1n, 7n], imported: new Map() });
  assert.equal(after.files.map((f) => f.name), ['0008_alembic_6173b7ed3174.up.sql', '0009_alembic_ae1027a6acf.up.sql']);
  const numeric = [{ from: '', to: '0001', sql: 'SELECT 1;\n\n' }, { from: '0001', to: '0002', sql: 'SELECT 2;\n\n' }];
  assert.equal(convert(upgradeScript(numeric)).files.map((f) => f.name), ['0001_alembic_0001.up.sql', '0002_alembic_0002.up.sql']);
  assert.equal(errorOf(() => convert(upgradeScript(numeric), undefined, { numbers: [1n], imported: new Map() })), {
    code: 'usage',
    message: 'Alembic revision 0001 would be imported as version 0002, and dbvc would read "0001" in alembic_version as another file\'s version',
    hint: 'import into a folder whose next free number is the first Alembic revision (usually an empty one); nothing was written',
  });
});

test('revisions imported before are refused, naming the files that hold them', () => {
  const imported = new Map([['6173b7ed3174', 'sql/local/0001_alembic_6173b7ed3174.up.sql']]);
  assert.equal(errorOf(() => convert(upgradeScript(TWO), undefined, { numbers: [1n], imported })), {
    code: 'usage',
    message: 'an Alembic revision is already imported: 6173b7ed3174 (sql/local/0001_alembic_6173b7ed3174.up.sql)',
    hint: 'nothing was written; to import the history again, delete the files imported before',
  });
});

test('a version table with another name and schema is bookkeeping too; other SQL before the first revision is reported', () => {
  const script = upgradeScript(TWO).replace(/alembic_version/g, 'ops.schema_version').replace('BEGIN;\n\n', 'BEGIN;\n\nSET lock_timeout = 5000;\n\n');
  const { files, warnings } = convert(script);
  assert.not.match(files.map((f) => f.text).join(''), /schema_version|lock_timeout/);
  assert.is(warnings[0], 'the upgrade script line 3: SQL before the first revision was not imported (env.py runs it on every migration): SET lock_timeout = 5000;');
});

test('CRLF scripts work; a revision id dbvc cannot record is refused', () => {
  const { files } = convert(upgradeScript(TWO).replace(/\n/g, '\r\n'), downgradeScript(TWO_DOWN).replace(/\n/g, '\r\n'));
  assert.equal(files.length, 4);
  assert.not.match(files[0].text, /\r/);
  const odd = upgradeScript([{ from: '', to: 'ab-cd', sql: 'SELECT 1;\n\n' }]);
  assert.equal(errorOf(() => convert(odd)).message, 'the upgrade script line 8 names Alembic revision "ab-cd", which dbvc cannot record (letters, digits and _ only, at most 32)');
});

test.run();
