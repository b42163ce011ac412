import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { endsOpen, lineOf, scanSql } from '../../src/core/lexer.js';

const test = suite('core/lexer');

/** Each statement's text from its first token through its ';' (or the end of the file). */
const statements = (text: string) => scanSql(text).statements.map((s) => text.slice(s.first, s.end));

/** The boundaries only, without the keywords. */
const bounds = (text: string) => {
  const scan = scanSql(text);
  return { statements: scan.statements.map(({ start, first, end }) => ({ start, first, end })), metaCommands: scan.metaCommands };
};

test('splits on semicolons and records start, first token and end of each statement', () => {
  const text = '-- a\nSELECT 1;\n/* b */ SELECT 2;';
  assert.equal(bounds(text), {
    statements: [
      { start: 0, first: 5, end: 14 },
      { start: 14, first: 23, end: 32 },
    ],
    metaCommands: [],
  });
});

test('empty, blank and comment-only text has no statements', () => {
  assert.equal(scanSql(''), { statements: [], metaCommands: [] });
  assert.equal(scanSql('  \n\t\n'), { statements: [], metaCommands: [] });
  assert.equal(scanSql('-- one\n/* two */\n-- three'), { statements: [], metaCommands: [] });
});

test('a ; inside a line comment does not end the statement', () => {
  assert.equal(statements('SELECT 1 -- not; here\n  + 1;\nSELECT 2;'), ['SELECT 1 -- not; here\n  + 1;', 'SELECT 2;']);
});

test('nested block comments are skipped as a whole, including their semicolons', () => {
  assert.equal(statements('/* outer /* inner; */ still comment; */ SELECT 1; SELECT /* x; */ 2;'), ['SELECT 1;', 'SELECT /* x; */ 2;']);
});

test("a ; inside a '' string (with doubled quotes) does not end the statement", () => {
  assert.equal(statements("INSERT INTO t VALUES ('a;b''c;'); SELECT 2;"), ["INSERT INTO t VALUES ('a;b''c;');", 'SELECT 2;']);
});

test("E'' strings treat \\' as an escaped quote", () => {
  const text = "SELECT E'it\\'s; fine'; SELECT e'x\\'y;'; SELECT 3;";
  assert.equal(statements(text), ["SELECT E'it\\'s; fine';", "SELECT e'x\\'y;';", 'SELECT 3;']);
});

test("in a standard '' string a backslash is an ordinary character", () => {
  assert.equal(statements("SELECT 'C:\\'; SELECT 2;"), ["SELECT 'C:\\';", 'SELECT 2;']);
});

test('an identifier ending in E before a quote does not make an escape string', () => {
  // PostgreSQL reads "typee" as one identifier, then the standard string 'x\'; the ; after it ends the statement
  assert.equal(statements("SELECT typee'x\\'; SELECT 2;"), ["SELECT typee'x\\';", 'SELECT 2;']);
});

test('a ; inside a quoted identifier (with doubled quotes) does not end the statement', () => {
  assert.equal(statements('CREATE TABLE "a;b""c;" (id int); SELECT 2;'), ['CREATE TABLE "a;b""c;" (id int);', 'SELECT 2;']);
});

test('dollar quotes without a tag hide semicolons', () => {
  const body = 'DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;';
  assert.equal(statements(`${body}\nSELECT 2;`), [body, 'SELECT 2;']);
});

test('tagged dollar quotes hide semicolons and $$ inside them', () => {
  const fn = "CREATE FUNCTION f() RETURNS text AS $fn$ SELECT 'a;'; $$ not the end; $$ $fn$ LANGUAGE sql;";
  assert.equal(statements(`${fn} SELECT 2;`), [fn, 'SELECT 2;']);
  const nested = 'DO $outer$ BEGIN EXECUTE $inner$ SELECT 1; $inner$; END $outer$;';
  assert.equal(statements(`${nested}SELECT 3;`), [nested, 'SELECT 3;']);
});

test('$1 parameters are not dollar quotes', () => {
  assert.equal(statements('PREPARE p(int, int) AS SELECT $1 + $2; EXECUTE p(1, 2);'), ['PREPARE p(int, int) AS SELECT $1 + $2;', 'EXECUTE p(1, 2);']);
});

test('identifiers containing $ are not dollar quotes', () => {
  const text = "SELECT a$b$ FROM t; SELECT 'x$b$';";
  assert.equal(statements(text), ['SELECT a$b$ FROM t;', "SELECT 'x$b$';"]);
});

test('a last statement without ; that ends in a line comment runs to the end of the text', () => {
  const text = 'SELECT 1;\nSELECT 2 -- trailing; comment';
  assert.equal(bounds(text).statements, [
    { start: 0, first: 0, end: 9 },
    { start: 9, first: 10, end: text.length },
  ]);
});

test('a trailing comment after the last ; is not a statement', () => {
  assert.equal(statements('SELECT 1;\n-- done;\n/* really; */\n'), ['SELECT 1;']);
});

test(';; does not produce an empty statement (PostgreSQL drops empty statements)', () => {
  assert.equal(statements('SELECT 1;;'), ['SELECT 1;']);
  assert.equal(statements('SELECT 1;; SELECT 2;'), ['SELECT 1;', 'SELECT 2;']);
  assert.equal(statements(';\n-- nothing\n;'), []);
});

test('psql meta-commands (backslash outside literals) are found at their index', () => {
  const text = '\\set ON_ERROR_STOP on\nSELECT 1;\n\\i other.sql\nSELECT 2; \\gset\n';
  assert.equal(scanSql(text).metaCommands, [0, text.indexOf('\\i'), text.indexOf('\\gset')]);
});

test('backslashes inside strings, identifiers, comments and dollar quotes are not meta-commands', () => {
  const text = [
    "SELECT 'a\\b', E'c\\\\d\\'', \"e\\f\", $$ \\g $$, $t$ \\h $t$;",
    '-- \\i not.sql',
    '/* \\set x /* \\q */ \\copy */',
    'SELECT 1;',
  ].join('\n');
  assert.equal(scanSql(text).metaCommands, []);
  assert.is(scanSql(text).statements.length, 2);
});

test('lineOf gives the 1-based line of an index', () => {
  const text = 'a\nb\r\nc';
  assert.is(lineOf(text, 0), 1);
  assert.is(lineOf(text, 1), 1);
  assert.is(lineOf(text, 2), 2);
  assert.is(lineOf(text, 5), 3);
});

// endsOpen answers plain text without the lexer; it must agree with the lexer's statements everywhere.
function endsOpenByScan(text: string): boolean {
  const last = scanSql(text).statements.at(-1);
  return last !== undefined && text[last.end - 1] !== ';';
}

test('endsOpen agrees with the lexer: fixed cases and 3000 generated texts', () => {
  const fixed = ['', ' \n', ';', ';;\n', 'SELECT 1', 'SELECT 1;', 'SELECT 1;\n\n', 'SELECT 1; SELECT 2', 'a (b; c) d;', 'a (b; c;',
    ') x;', '(a;)', 'SELECT 1;\u00a0', 'x\u00a0', "SELECT ';'", 'SELECT 1 -- done;', 'CREATE FUNCTION f() BEGIN ATOMIC SELECT 1;',
    'SELECT $$;$$', 'SELECT "a;"', '/* ; */ SELECT 1', 'E\'\\\';\''];
  for (const text of fixed) assert.is(endsOpen(text), endsOpenByScan(text), JSON.stringify(text));
  const pieces = ['SELECT 1', ';', '(', ')', ' ', '\n', 'x', '\u00a0', 'é', '\t', ';\n'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % pieces.length;
  for (let n = 0; n < 3000; n++) {
    const text = Array.from({ length: 1 + (n % 9) }, () => pieces[next()]).join('');
    assert.is(endsOpen(text), endsOpenByScan(text), JSON.stringify(text));
  }
});

test.run();

const more = suite('core/lexer: keywords and bodies');

more('leading words are collected upper-cased, without string prefixes', () => {
  const [a, b] = scanSql("create index concurrently i on t (x); copy t from stdin;").statements;
  assert.equal(a.words, ['CREATE', 'INDEX', 'CONCURRENTLY', 'I', 'ON', 'T', 'X']);
  assert.is(a.hasStdio, false);
  assert.equal(b.words.slice(0, 4), ['COPY', 'T', 'FROM', 'STDIN']);
  assert.is(b.hasStdio, true);
  assert.equal(scanSql("SELECT E'x', U&'y'").statements[0].words, ['SELECT']);
});

more('STDIN inside parentheses or in another statement kind is not COPY ... FROM STDIN', () => {
  assert.is(scanSql('SELECT stdin FROM t;').statements[0].hasStdio, false);
  assert.is(scanSql('COPY (SELECT stdin FROM t) TO STDOUT;').statements[0].hasStdio, true);
  assert.is(scanSql("COPY t FROM '/tmp/x.csv';").statements[0].hasStdio, false);
});

more('a SQL-standard function body (BEGIN ATOMIC ... END) is one statement, CASE ... END inside included', () => {
  const fn = `CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;
  SELECT x + 1;
END;`;
  assert.equal(statements(`${fn}\nSELECT 2;`), [fn, 'SELECT 2;']);
  const proc = 'CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END;';
  assert.equal(statements(`${proc} SELECT 3;`), [proc, 'SELECT 3;']);
});

more('BEGIN and END outside routine definitions are ordinary statements', () => {
  assert.equal(statements('BEGIN; SELECT 1; END;'), ['BEGIN;', 'SELECT 1;', 'END;']);
  assert.equal(statements('SELECT CASE WHEN true THEN 1 END; SELECT 2;'), ['SELECT CASE WHEN true THEN 1 END;', 'SELECT 2;']);
});

more('semicolons inside parentheses do not end a statement (CREATE RULE ... DO (a; b))', () => {
  const rule = 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO log VALUES (1); INSERT INTO log VALUES (2));';
  assert.equal(statements(`${rule} SELECT 1;`), [rule, 'SELECT 1;']);
});

more.run();
