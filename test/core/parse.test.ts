import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DbvcError } from '../../src/core/errors.js';
import { parseFile } from '../../src/core/parse.js';

const test = suite('core/parse');

const PATH = 'sql/local/0001_create_product.up.sql';
const META_HINT = 'inline the SQL it refers to, or run it with psql outside dbvc';
const DIRECTIVE_HINT = 'known directives: -- dbvc:no-transaction, -- dbvc:alembic-revision <id>';
const ALEMBIC_HINT = 'write -- dbvc:alembic-revision <id>, the id Alembic stored (letters, digits, _; at most 32)';

const utf8 = (text: string) => new TextEncoder().encode(text);
const sha = (text: string) => `sha256:${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex')}`;

function problemsOf(bytes: Uint8Array) {
  const result = parseFile(PATH, bytes);
  assert.is(result.file, undefined);
  return result.problems.map((p) => {
    assert.instance(p, DbvcError);
    return { code: p.code, file: p.file, message: p.message, hint: p.hint };
  });
}

function fileOf(bytes: Uint8Array) {
  const result = parseFile(PATH, bytes);
  assert.equal(result.problems, []);
  return result.file!;
}

const problem = (where: string, what: string, hint: string) => ({ code: 'file', file: PATH, message: `${where} ${what}`, hint });

test('a plain file: text as written, its checksum, no directives', () => {
  const text = 'CREATE TABLE product (id int);\n';
  assert.equal(parseFile(PATH, utf8(text)), {
    file: { path: PATH, text, checksum: sha(text), noTransaction: false },
    problems: [],
  });
});

test('a UTF-8 BOM is dropped from the text and does not change the checksum', () => {
  const body = 'CREATE TABLE café (id int);\n';
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(body)]);
  const file = fileOf(withBom);
  assert.is(file.text, body);
  assert.is(file.checksum, sha(body));
});

test('CRLF stays in the text (sent as written) but the checksum is that of the LF text', () => {
  const file = fileOf(utf8('SELECT 1;\r\nSELECT 2;\r\n'));
  assert.is(file.text, 'SELECT 1;\r\nSELECT 2;\r\n');
  assert.is(file.checksum, sha('SELECT 1;\nSELECT 2;\n'));
});

test('invalid UTF-8 is an error naming the file', () => {
  assert.equal(problemsOf(new Uint8Array([0x53, 0x45, 0x4c, 0xc3, 0x28, 0x3b])), [problem(PATH, 'is not valid UTF-8', 'save it as UTF-8')]);
  // Latin-1 é
  assert.equal(problemsOf(new Uint8Array([...utf8("SELECT 'caf"), 0xe9, ...utf8("';")])), [problem(PATH, 'is not valid UTF-8', 'save it as UTF-8')]);
});

test('a NUL byte is an error naming the file', () => {
  assert.equal(problemsOf(utf8('SELECT 1;\u0000\n')), [
    problem(PATH, 'contains a NUL byte; it is not a SQL text file', 'check that the right file is in the migrations folder'),
  ]);
});

test('empty, blank and comment-only files are errors naming the file', () => {
  const expected = [problem(PATH, 'has no SQL statement (it is empty or only comments)', 'write the migration, or delete the file')];
  assert.equal(problemsOf(utf8('')), expected);
  assert.equal(problemsOf(new Uint8Array([0xef, 0xbb, 0xbf])), expected);
  assert.equal(problemsOf(utf8('\n  \r\n\t\n')), expected);
  assert.equal(problemsOf(utf8('-- nothing to do\n/* really /* nothing */ */\n')), expected);
  assert.equal(problemsOf(utf8('-- dbvc:no-transaction\n-- just comments\n')), expected);
});

test('a file holding only ; (empty statements) has no SQL statement', () => {
  assert.equal(problemsOf(utf8('-- nothing\n;\n')), [
    problem(PATH, 'has no SQL statement (it is empty or only comments)', 'write the migration, or delete the file'),
  ]);
});

test('\\i and \\set meta-commands are reported with file:line, one problem each', () => {
  const text = 'CREATE TABLE a (id int);\n\\i other.sql\n\n\\set ON_ERROR_STOP 1\nSELECT 1;\n';
  assert.equal(problemsOf(utf8(text)), [
    problem(`${PATH}:2`, 'holds a psql meta-command (\\i); the server cannot run it', META_HINT),
    problem(`${PATH}:4`, 'holds a psql meta-command (\\set); the server cannot run it', META_HINT),
  ]);
});

test('meta-command lines are counted in the file as written: BOM, CRLF, leading comments', () => {
  const text = '\uFEFF-- header\r\n/* a\r\n   b */\r\nSELECT 1;\r\n\\copy t FROM data.csv\r\n';
  assert.equal(problemsOf(utf8(text)), [problem(`${PATH}:5`, 'holds a psql meta-command (\\copy); the server cannot run it', META_HINT)]);
});

test('backslashes inside strings, comments and dollar quotes are not meta-commands', () => {
  const text = "-- \\i nope.sql\nSELECT 'C:\\temp', E'a\\\\b';\nDO $$ BEGIN RAISE NOTICE '\\set'; END $$;\n";
  assert.is(fileOf(utf8(text)).text, text);
});

test('-- dbvc:no-transaction in the leading comment block', () => {
  const text = '-- Build the index without locking writes.\n-- dbvc:no-transaction\n\nCREATE INDEX CONCURRENTLY i ON t (x);\n';
  assert.equal(fileOf(utf8(text)), { path: PATH, text, checksum: sha(text), noTransaction: true });
});

test('-- dbvc:alembic-revision 6173b7ed3174 in the leading comment block', () => {
  const text = '-- dbvc:alembic-revision 6173b7ed3174\nCREATE TABLE a (id int);\n';
  assert.equal(fileOf(utf8(text)), { path: PATH, text, checksum: sha(text), noTransaction: false, alembicRevision: '6173b7ed3174' });
});

test('both directives together, with CRLF line endings and trailing blanks', () => {
  const file = fileOf(utf8('--dbvc:no-transaction  \r\n--   dbvc:alembic-revision ae1027a6acf \r\n\r\nSELECT 1;\r\n'));
  assert.is(file.noTransaction, true);
  assert.is(file.alembicRevision, 'ae1027a6acf');
});

test('an unknown directive is an error with its line', () => {
  assert.equal(problemsOf(utf8('-- Orders\n-- dbvc:no-transactions\nSELECT 1;\n')), [
    problem(`${PATH}:2`, 'has an unknown directive "dbvc:no-transactions"', DIRECTIVE_HINT),
  ]);
  assert.equal(problemsOf(utf8('\n-- dbvc:timeout 5s\nSELECT 1;\n')), [problem(`${PATH}:2`, 'has an unknown directive "dbvc:timeout 5s"', DIRECTIVE_HINT)]);
});

test('dbvc:alembic-revision without an id, or with an invalid one, is an error with its line', () => {
  assert.equal(problemsOf(utf8('-- dbvc:alembic-revision\nSELECT 1;\n')), [problem(`${PATH}:1`, 'has dbvc:alembic-revision with no id', ALEMBIC_HINT)]);
  assert.equal(problemsOf(utf8('-- x\n-- dbvc:alembic-revision abc-def\nSELECT 1;\n')), [
    problem(`${PATH}:2`, 'has dbvc:alembic-revision with an invalid id "abc-def"', ALEMBIC_HINT),
  ]);
  const long = 'a'.repeat(33);
  assert.equal(problemsOf(utf8(`-- dbvc:alembic-revision ${long}\nSELECT 1;\n`)), [
    problem(`${PATH}:1`, `has dbvc:alembic-revision with an invalid id "${long}"`, ALEMBIC_HINT),
  ]);
});

test('directives after the first SQL line are ordinary comments: neither applied nor errors', () => {
  const text = 'SELECT 1;\n-- dbvc:no-transaction\n-- dbvc:alembic-revision 6173b7ed3174\n-- dbvc:whatever\nSELECT 2;\n';
  assert.equal(fileOf(utf8(text)), { path: PATH, text, checksum: sha(text), noTransaction: false });
});

test('a comment that merely mentions dbvc: is not a directive', () => {
  const file = fileOf(utf8('-- see dbvc:no-transaction in the docs\nSELECT 1;\n'));
  assert.is(file.noTransaction, false);
});

test('problems of different kinds in one file are all reported', () => {
  assert.equal(problemsOf(utf8('-- dbvc:bogus\nSELECT 1;\n\\q\n')), [
    problem(`${PATH}:1`, 'has an unknown directive "dbvc:bogus"', DIRECTIVE_HINT),
    problem(`${PATH}:3`, 'holds a psql meta-command (\\q); the server cannot run it', META_HINT),
  ]);
});

// parseFile skips the lexer for files that hold none of the words these rules look for: every rule is named
// here, so a rule added without its word fails this test.
const REFUSED: [string, string][] = [
  ['create index concurrently i on t (x)', 'holds CREATE INDEX CONCURRENTLY'],
  ['CREATE UNIQUE INDEX CONCURRENTLY i ON t (x)', 'holds CREATE UNIQUE INDEX CONCURRENTLY'],
  ['DROP INDEX CONCURRENTLY i', 'holds DROP INDEX CONCURRENTLY'],
  ['REINDEX TABLE CONCURRENTLY t', 'holds REINDEX CONCURRENTLY'],
  ['REINDEX DATABASE shop', 'holds REINDEX DATABASE'],
  ['REINDEX SYSTEM shop', 'holds REINDEX SYSTEM'],
  ['VACUUM t', 'holds VACUUM'],
  ['CREATE DATABASE shop', 'holds CREATE DATABASE'],
  ['DROP TABLESPACE fast', 'holds DROP TABLESPACE'],
  ["CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", 'holds CREATE SUBSCRIPTION'],
  ["ALTER SYSTEM SET work_mem = '8MB'", 'holds ALTER SYSTEM'],
  ['ALTER DATABASE shop SET TABLESPACE fast', 'holds ALTER DATABASE ... SET TABLESPACE'],
  ['DISCARD ALL', 'holds DISCARD ALL'],
  ['begin', 'holds BEGIN:'],
  ['START TRANSACTION', 'holds START TRANSACTION:'],
  ['COMMIT', 'holds COMMIT:'],
  ['END', 'holds END:'],
  ['ROLLBACK', 'holds ROLLBACK:'],
  ['ABORT', 'holds ABORT:'],
  ["PREPARE TRANSACTION 'x'", 'holds PREPARE TRANSACTION:'],
  ['COPY t FROM STDIN', 'holds COPY ... STDIN'],
  ['COPY t TO STDOUT', 'holds COPY ... STDIN (or STDOUT)'],
];

test('every statement dbvc refuses is reported with its line, whatever the case of its words', () => {
  for (const [statement, what] of REFUSED) {
    const problems = problemsOf(utf8(`-- a header\nCREATE TABLE a (id int);\n${statement};\n`));
    assert.is(problems.length, 1, statement);
    assert.ok(problems[0].message.startsWith(`${PATH}:3 ${what}`), `${statement}: ${problems[0].message}`);
  }
});

test('files without any of those words load without the lexer, and the same as with it', () => {
  const plain = fileOf(utf8('-- add a table\nCREATE TABLE t_1 (id bigint primary key, name text not null);\nCREATE INDEX ON t_1 (name);\n'));
  assert.is(plain.text.startsWith('-- add a table'), true);
  assert.is(plain.checksum, sha('-- add a table\nCREATE TABLE t_1 (id bigint primary key, name text not null);\nCREATE INDEX ON t_1 (name);\n'));
  // Still empty, and still refused, when the words sit where only the lexer can tell
  assert.is(problemsOf(utf8('-- only a comment\n;\n')).length, 1);
  assert.is(problemsOf(utf8('/* VACUUM */ -- x\n')).length, 1);
  assert.equal(fileOf(utf8("SELECT 'vacuum';\n")).noTransaction, false);
  assert.equal(fileOf(utf8('SELECT 1; -- begin\n')).noTransaction, false);
});

test.run();
