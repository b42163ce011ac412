// Differential test: our statement splitter (scanSql) against PostgreSQL's own parser (libpg-query, PG 18 in WASM).
//
// For every input, which must be valid SQL (PostgreSQL's parser rejects anything else), both must find the same
// statements: the same count, and for each statement the same UTF-8 byte offset of its first token
// (stmt_location) and of its end. A statement's end is compared as the byte offset just past its terminating ';'
// (PostgreSQL: stmt_location + stmt_len + 1, the ';' being one byte) or the text's byte length when no ';'
// terminates it (PostgreSQL: stmt_len absent). Comparing "just past the ;" rather than "at the ;" keeps an
// unterminated last statement whose trailing line comment ends in ';' unambiguous.
// Valid SQL never holds a backslash outside literals and comments, so metaCommands must be empty too.
//
// Inputs: the corpus in test/fixtures/sql-corpus (each file also with CRLF line endings), the other migration
// fixtures under test/fixtures, small targeted cases, and files assembled by a seeded generator.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModule, parseSync } from 'libpg-query';
import { scanSql } from '../../src/core/lexer.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', 'fixtures');
const corpusDir = join(fixtures, 'sql-corpus');

/** [first, end): UTF-8 byte offsets of a statement's first token and of the end described above. */
type Span = [number, number];

const bytes = (text: string, index: number) => Buffer.byteLength(text.slice(0, index));

function ourSpans(text: string): { spans: Span[]; metaCommands: number[] } {
  const scan = scanSql(text);
  return { spans: scan.statements.map((s) => [bytes(text, s.first), bytes(text, s.end)]), metaCommands: scan.metaCommands };
}

function postgresSpans(label: string, text: string): Span[] {
  if (text === '') return []; // libpg-query refuses the empty string; blank or comment-only text gives no statements
  let stmts;
  try {
    stmts = parseSync(text).stmts ?? [];
  } catch (error) {
    throw new Error(`${label}: PostgreSQL rejects this input, so it cannot serve as an oracle case (fix the test input): ${(error as Error).message}\n${JSON.stringify(text)}`);
  }
  const total = Buffer.byteLength(text);
  return stmts.map((s) => {
    const first = s.stmt_location ?? 0; // absent when 0
    return [first, s.stmt_len == null ? total : first + s.stmt_len + 1]; // stmt_len absent: runs to the end
  });
}

function showSpans(text: string, spans: Span[]): string {
  const buffer = Buffer.from(text);
  if (spans.length === 0) return '  (no statements)';
  return spans.map(([a, b], i) => `  ${i + 1}. [${a}, ${b}) ${JSON.stringify(buffer.subarray(a, b).toString())}`).join('\n');
}

function report(text: string, ours: Span[], postgres: Span[]): string {
  return [
    `input (${text.length} chars, ${Buffer.byteLength(text)} UTF-8 bytes), JSON-escaped:`,
    JSON.stringify(text),
    'ours, as UTF-8 byte [first token, just past the ; or end of text):',
    showSpans(text, ours),
    'PostgreSQL (stmt_location, stmt_location + stmt_len + 1 or end of text):',
    showSpans(text, postgres),
  ].join('\n');
}

/** Fails with a one-line headline and the full report as details (uvu prints both, once each). */
function fail(headline: string, details: string): never {
  throw new assert.Assertion({ message: headline, details, generated: false, operator: 'oracle', expects: undefined, actual: undefined });
}

type Problem = { headline: string; details: string };

/** null when both agree, else what differs. */
function disagreement(label: string, text: string): Problem | null {
  const postgres = postgresSpans(label, text);
  const ours = ourSpans(text);
  if (JSON.stringify(ours.spans) !== JSON.stringify(postgres)) {
    return { headline: `${label}: our statement boundaries differ from PostgreSQL's`, details: report(text, ours.spans, postgres) };
  }
  if (ours.metaCommands.length > 0) {
    return { headline: `${label}: psql meta-commands reported in valid SQL at string indexes ${ours.metaCommands.join(', ')}`, details: JSON.stringify(text) };
  }
  return null;
}

let checked = 0;

function assertAgrees(label: string, text: string): void {
  checked += 1;
  const problem = disagreement(label, text);
  if (problem) fail(problem.headline, problem.details);
}

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

const load = async () => {
  await loadModule();
};

// ---------------------------------------------------------------------------------------------------------------
// The corpus and the other migration fixtures.

const corpus = suite('core/lexer-oracle: corpus');
corpus.before(load);

const corpusFiles = readdirSync(corpusDir).filter((f) => f.endsWith('.sql')).sort();

corpus('the corpus folder is there', () => {
  assert.ok(corpusFiles.length >= 5, `expected the corpus in ${corpusDir}`);
});

for (const file of corpusFiles) {
  corpus(`sql-corpus/${file} (LF and CRLF)`, () => {
    const text = readFileSync(join(corpusDir, file), 'utf8').replace(/\r\n/g, '\n');
    assertAgrees(`sql-corpus/${file}`, text);
    assertAgrees(`sql-corpus/${file} with CRLF line endings`, crlf(text));
  });
}

corpus('the whole corpus as one file', () => {
  // Each file's last statement may lack its ';' (it can end in a line comment), hence the newline before ';'.
  const all = corpusFiles.map((f) => readFileSync(join(corpusDir, f), 'utf8')).join('\n;\n');
  assertAgrees('the concatenated corpus', all);
});

corpus('the other migration fixtures that PostgreSQL can parse', () => {
  const files = readdirSync(fixtures, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.sql') && !f.startsWith('sql-corpus'))
    .sort();
  for (const file of files) {
    const text = readFileSync(join(fixtures, file), 'utf8');
    try {
      parseSync(text || ';');
    } catch {
      continue; // a deliberately broken fixture: not an oracle case
    }
    if (/\bfrom\s+stdin\b/i.test(text)) continue; // COPY data would follow
    assertAgrees(file, text);
  }
});

corpus.run();

// ---------------------------------------------------------------------------------------------------------------
// Small targeted cases, one trick each.

const targeted = suite('core/lexer-oracle: targeted cases');
targeted.before(load);

const cases: Record<string, string> = {
  'line comment with ; and quotes': "SELECT 1 -- a; b 'c \"d\n; SELECT 2;",
  'nested block comments': '/* a; /* b; */ c; */ SELECT 1; SELECT /* x; /* y */ */ 2;',
  'block comment glued to an operator': 'SELECT 2 */* c; */ 3; SELECT 4 +/* ; */5;',
  'doubled quotes and semicolons': "SELECT 'a;b''c;', ''''; SELECT ';';",
  "E'' with \\' and \\\\": "SELECT E'it\\'s;', e'\\\\', E'\\\\\\';'; SELECT 2;",
  'standard string ending in a backslash': "SELECT 'C:\\'; SELECT 'x\\\\'; SELECT 2;",
  "U&'' strings": "SELECT U&'d\\0061t;', U&'a!0062;' UESCAPE '!'; SELECT 2;",
  'quoted identifiers with ; and ""': 'SELECT "a;b""c;" FROM "t;"; SELECT 2;',
  'untagged dollar quote': 'DO $$ BEGIN PERFORM 1; END $$; SELECT 2;',
  'tag with digits and underscores': 'SELECT $fn_2x$ ; $fn_2x$, $_$;$_$; SELECT 2;',
  'nested different tags and $$ inside a tagged body': "DO $o$ BEGIN EXECUTE $i$ SELECT ';'; $i$; PERFORM $$; $$; END $o$; SELECT 1;",
  'dollar tag of 62 characters': `DO $${'t'.repeat(62)}$ BEGIN PERFORM 1; END $${'t'.repeat(62)}$; SELECT 2;`,
  '$1 parameters': 'PREPARE p(int, int) AS SELECT $1 + $2; EXECUTE p(1, 2);',
  'identifiers containing $': "SELECT a$b$, x$$y FROM t$1; SELECT 'x$b$';",
  'typed literal with a dollar quote': 'SELECT text $$a;b$$; SELECT 2;',
  'last statement without ; ending in a line comment': 'SELECT 1;\nSELECT 2 -- trailing',
  'last line comment ending in ;': 'SELECT 1;\nSELECT 2 -- trailing;',
  'last block comment after an unterminated statement': 'SELECT 1 /* ; */',
  ';; and leading ;': ';\n;; SELECT 1;; ; SELECT 2;;',
  'only comments and semicolons': '-- a;\n/* b; */ ; ;\n',
  'blank text': '  \n\t\n',
  'empty text': '',
  'plpgsql function': "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.a := 'x;'; RETURN NEW; END $$; SELECT 2;",
  'BEGIN ATOMIC with CASE ... END': 'CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN x > 0 THEN 1 ELSE CASE x WHEN 0 THEN 0 END END; SELECT 2; END; SELECT 3;',
  'CREATE PROCEDURE ... BEGIN ATOMIC': 'CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); END; CALL p();',
  'empty BEGIN ATOMIC body': 'create procedure p() language sql begin atomic end; select 1;',
  'BEGIN and END as transaction statements': 'BEGIN; SELECT CASE WHEN true THEN 1 END; END; BEGIN ISOLATION LEVEL SERIALIZABLE; COMMIT;',
  'CREATE RULE ... DO ALSO (a; b)': 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO log VALUES (1); ; INSERT INTO log VALUES (2)); SELECT 1;',
  'CREATE TRIGGER': 'CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION f(); SELECT 1;',
  'parenthesized first token': '(SELECT 1); (SELECT 2) UNION (SELECT 3);',
  'non-ASCII in strings, comments and identifiers': "-- é;\nSELECT 'é;', \"日本;\", café, t🎉 /* 🎉; */ FROM 表; SELECT '🧪' -- 日本語",
  'non-ASCII dollar tags': 'SELECT $é$;$é$, $日本$ ; $日本$, $🎉$;$🎉$; SELECT 2;',
  'CRLF line endings': 'SELECT 1; -- a\r\n/* b\r\n; */\r\nSELECT 2\r\n;\r\nSELECT 3 -- c;\r\n',
  'vertical tab and form feed are whitespace': 'SELECT 1;\v\fSELECT 2;',
  "a standard string continued on the next line": "SELECT 'a\\'\n  'b;\\'; SELECT 2;",
};

for (const [name, text] of Object.entries(cases)) {
  targeted(name, () => assertAgrees(name, text));
}

targeted.run();

// ---------------------------------------------------------------------------------------------------------------
// Inputs on which our splitter and PostgreSQL disagree (found by this test). Each asserts agreement, so each
// fails until src/core/lexer.ts is fixed.

const known = suite('core/lexer-oracle: disagreements found');
known.before(load);

const longTag = 't'.repeat(63);
const disagreements: Record<string, string> = {
  // PostgreSQL ends a -- comment at \r as well as \n (scan.l: non_newline = [^\n\r]); ours only at \n.
  'a lone CR ends a line comment': 'SELECT 1 -- c\r; SELECT 2;',
  // DOLLAR_TAG only looks at 64 characters, so a tag longer than 62 is not seen as a dollar quote.
  'a dollar tag of 63 characters': `DO $${longTag}$ BEGIN PERFORM 1; END $${longTag}$; SELECT 2;`,
  // A string continued after a newline keeps its kind: the second part of an E'' string is an E'' string too.
  "an E'' string continued on the next line": "SELECT E'a'\n'b\\';c'; SELECT 2;",
  // The BEGIN ... END heuristic (psql's) counts BEGIN, CASE and END wherever they appear in a routine definition.
  'a function named begin': "CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'SELECT 1'; SELECT 2;",
  'begin as a value in a function header': "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = begin AS 'SELECT 1'; SELECT 2;",
  'begin as a column inside BEGIN ATOMIC': 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT begin FROM t; END; SELECT 2;',
  'end as a column label inside BEGIN ATOMIC': 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS end; END; SELECT 2;',
  't.end inside BEGIN ATOMIC': 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT t.end FROM t; END; SELECT 2;',
  'case as a column label inside BEGIN ATOMIC': 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case; END; SELECT 2;',
};

for (const [name, text] of Object.entries(disagreements)) {
  known(name, () => assertAgrees(name, text));
}

known.run();

// ---------------------------------------------------------------------------------------------------------------
// Generated files: a seeded LCG assembles valid migration-like files from fragments.

class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0; // Numerical Recipes' LCG
    return this.state / 2 ** 32;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  many(min: number, max: number, make: () => string, sep = ' '): string {
    const n = min + this.int(max - min + 1);
    return Array.from({ length: n }, make).join(sep);
  }
}

const NON_ASCII = ['é', 'ñ', 'ü', 'ß', 'Ω', '…', '日本語', 'テスト', '🎉', '🧪', 'naïve'];
// Text pieces for comments and literal bodies; joined with spaces, so no two pieces fuse into /*, */ or $tag$.
const PIECES = ['a', 'word', 'x1', ';', ';;', '--', '/', '*', '"', "'", '(', ')', '$', '$$', '$t$', '$1', '\\', 'BEGIN', 'END', 'CASE', 'E', 'U&', ...NON_ASCII];
const IDENTS = ['id', 'name', 'total_1', '_x', 'café', 'naïve', '日本語', 't🎉', 'a$b', 'x$$y', 'data$1', 'ß', 'Ωmega'];
const TAGS = ['', 'x', 'body', 'fn_2', 'q1', '_', 'A1', 'tag_x9', 'é', '日本'];

function text(r: Random, allowed: (piece: string) => boolean, min = 1, max = 5): string {
  const pool = PIECES.filter(allowed);
  return r.many(min, max, () => r.pick(pool));
}

const noNewline = (p: string) => !/[\r\n]/.test(p);
const lineComment = (r: Random) => `-- ${text(r, noNewline, 0, 6)}\n`;
function blockComment(r: Random, depth = 0): string {
  const inner = depth < 2 && r.chance(0.3) ? ` ${blockComment(r, depth + 1)} ` : ' ';
  return `/* ${text(r, () => true, 0, 4)}${inner}${text(r, () => true, 0, 3)} */`;
}

/** Whitespace or comments between two tokens. */
function gap(r: Random): string {
  const roll = r.next();
  if (roll < 0.55) return ' ';
  if (roll < 0.7) return r.pick(['\n', '\n  ', '\t', '  ', '\n\n    ']);
  if (roll < 0.85) return ` ${blockComment(r)} `;
  return ` ${lineComment(r)}  `;
}

function standardString(r: Random): string {
  const body = text(r, () => true, 0, 5).replace(/'/g, "''");
  const s = `'${body}${r.chance(0.2) ? '\\' : ''}'`; // may end in a backslash
  return r.chance(0.1) ? `${s}\n  '${text(r, (p) => p !== "'", 0, 3)}'` : s; // continued on the next line
}
function escapeString(r: Random): string {
  const escapes = ["\\'", '\\\\', '\\n', '\\t', '\\;', "''"];
  const plain = () => text(r, (p) => !p.includes('\\') && !p.includes("'"), 1, 2);
  return `${r.pick(['E', 'e'])}'${r.many(1, 5, () => (r.chance(0.5) ? r.pick(escapes) : plain()), '')}'`;
}
function unicodeString(r: Random): string {
  const plain = () => text(r, (p) => !p.includes('\\') && !p.includes("'") && !p.includes('!'), 1, 2);
  if (r.chance(0.3)) return `U&'${r.many(1, 4, () => r.pick(['!0061', '!!', '\\', "''", plain()]), '')}' UESCAPE '!'`;
  return `${r.pick(['U&', 'u&'])}'${r.many(1, 4, () => r.pick(['\\0061', '\\\\', '\\+01F389', "''", plain()]), '')}'`;
}
function quotedIdent(r: Random): string {
  return `"${text(r, () => true, 1, 3).replace(/"/g, '""')}"`;
}
function ident(r: Random): string {
  return r.chance(0.25) ? quotedIdent(r) : r.pick(IDENTS);
}
function dollar(r: Random, body?: string): string {
  const tag = `$${r.pick(TAGS)}$`;
  const content = body ?? text(r, () => true, 0, 6);
  // Drop any piece that would close the quote early (with an empty tag, any $$).
  const safe = content.split(' ').filter((p) => !p.includes(tag)).join(' ');
  return `${tag} ${safe} ${tag}`;
}
function literal(r: Random): string {
  return r.pick([standardString, escapeString, unicodeString, (g: Random) => dollar(g), () => String(r.int(1000))])(r);
}
function plpgsqlBody(r: Random): string {
  const lines = [
    'BEGIN',
    `  ${lineComment(r)}  NEW.updated_at := now(); ${blockComment(r)}`,
    `  RAISE NOTICE ${standardString(r)}, NEW.id;`,
    `  EXECUTE ${dollar(r, `SELECT ${standardString(r)};`)};`,
    `  PERFORM ${escapeString(r)};`,
    '  RETURN NEW;',
    'END;',
  ];
  return `\n${lines.join('\n')}\n`;
}

const g = gap; // short alias for templates
const statements: ((r: Random) => string)[] = [
  (r) => `CREATE TABLE ${ident(r)} (${g(r)}${ident(r)} int DEFAULT ${literal(r)},${g(r)}${ident(r)} text CHECK (${ident(r)} <> ${standardString(r)})${g(r)})`,
  (r) => `INSERT INTO ${ident(r)} (${ident(r)}, ${ident(r)})${g(r)}VALUES (${literal(r)}, ${literal(r)}),${g(r)}(${literal(r)}, ${literal(r)})${r.chance(0.3) ? ' ON CONFLICT DO NOTHING' : ''}`,
  (r) => `SELECT ${literal(r)} AS ${ident(r)},${g(r)}${literal(r)}${g(r)}FROM ${ident(r)} WHERE ${ident(r)} = ${literal(r)}`,
  (r) => `COMMENT ON TABLE ${ident(r)} IS ${r.pick([standardString, escapeString, unicodeString])(r)}`,
  (r) => `CREATE OR REPLACE FUNCTION ${ident(r)}() RETURNS trigger${g(r)}LANGUAGE plpgsql AS ${dollar(r, plpgsqlBody(r))}`,
  (r) => (r.chance(0.5) ? `DO ${dollar(r, plpgsqlBody(r))}` : `DO ${dollar(r, plpgsqlBody(r))} LANGUAGE plpgsql`),
  (r) => {
    const body = [
      `SELECT CASE WHEN x > 0 THEN ${literal(r)} ELSE ${literal(r)} END`,
      `INSERT INTO ${ident(r)} VALUES (x, ${literal(r)})`,
      `SELECT CASE x WHEN 1 THEN CASE WHEN x > 2 THEN 3 END ELSE 4 END + 1`,
      `UPDATE ${ident(r)} SET ${ident(r)} = ${literal(r)} WHERE ${ident(r)} = x`,
    ];
    const stmts = r.many(1, 4, () => `${r.pick(body)};${g(r)}`, '');
    return `CREATE ${r.pick(['', 'OR REPLACE ', 'or replace '])}FUNCTION ${ident(r)}(x int) RETURNS int${g(r)}LANGUAGE sql${g(r)}BEGIN ATOMIC${g(r)}${stmts}END`;
  },
  (r) => `CREATE ${r.pick(['', 'OR REPLACE '])}PROCEDURE ${ident(r)}(a int) LANGUAGE sql${g(r)}BEGIN ATOMIC${g(r)}${r.many(0, 3, () => `INSERT INTO ${ident(r)} VALUES (a, ${literal(r)});${g(r)}`, '')}END`,
  (r) => `CREATE RULE ${ident(r)} AS ON INSERT TO ${ident(r)} DO ALSO (${g(r)}INSERT INTO ${ident(r)} VALUES (${literal(r)});${r.chance(0.2) ? ' ;' : ''}${g(r)}INSERT INTO ${ident(r)} VALUES (${literal(r)})${g(r)})`,
  (r) => `CREATE RULE ${ident(r)} AS ON DELETE TO ${ident(r)} DO INSTEAD NOTHING`,
  (r) => `CREATE TRIGGER ${ident(r)} BEFORE INSERT OR UPDATE ON ${ident(r)}${g(r)}FOR EACH ROW EXECUTE FUNCTION ${ident(r)}()`,
  (r) => `PREPARE ${ident(r)}(int, text) AS${g(r)}SELECT $1 + 1, $2 || ${literal(r)}, $1`,
  (r) => `EXECUTE ${ident(r)}(1, ${standardString(r)})`,
  (r) => `SELECT a$b, x$$y, data$1 FROM t$x$ WHERE a$b = ${literal(r)}`,
  (r) => `SELECT text ${dollar(r)}`,
  (r) => r.pick(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SET search_path = public, "$user"', 'VACUUM (ANALYZE) t']),
  (r) => `CREATE INDEX CONCURRENTLY ${ident(r)} ON ${ident(r)} (${ident(r)})`,
  (r) => `ALTER TABLE ${ident(r)} ADD COLUMN ${ident(r)} text DEFAULT ${literal(r)}`,
  (r) => `CREATE TYPE ${ident(r)} AS ENUM (${standardString(r)}, ${escapeString(r)})`,
  (r) => `CREATE VIEW ${ident(r)} AS SELECT CASE WHEN ${ident(r)} THEN ${literal(r)} END AS ${ident(r)} FROM ${ident(r)}`,
  (r) => `(SELECT ${literal(r)}) UNION ALL (SELECT ${literal(r)})`,
];

function generateFile(seed: number): string {
  const r = new Random(seed);
  const parts: string[] = [];
  if (r.chance(0.5)) parts.push(r.chance(0.5) ? lineComment(r) : `${blockComment(r)}\n`);
  if (r.chance(0.1)) parts.push(';\n');
  const n = 1 + r.int(10);
  for (let k = 0; k < n; k++) {
    parts.push(r.pick(statements)(r));
    const last = k === n - 1;
    if (!last || r.chance(0.6)) {
      if (r.chance(0.15)) parts.push(gap(r));
      parts.push(';');
      if (r.chance(0.1)) parts.push(r.pick([';', ' ;', '\n;']));
    }
    if (!last) parts.push(r.pick(['\n', '\n\n', ' ', '']) + (r.chance(0.3) ? gap(r) : ''));
  }
  if (r.chance(0.3)) parts.push(` -- ${text(r, noNewline, 0, 4)}`); // ends the text inside a line comment
  else if (r.chance(0.5)) parts.push('\n');
  const file = parts.join('');
  return r.chance(0.25) ? crlf(file) : file;
}

const generated = suite('core/lexer-oracle: generated files');
generated.before(load);

const FILES = 400;

generated(`${FILES} generated files agree`, () => {
  const failures: { seed: number; text: string; problem: Problem }[] = [];
  for (let seed = 1; seed <= FILES; seed++) {
    const text = generateFile(seed);
    checked += 1;
    const problem = disagreement(`generated file (seed ${seed})`, text);
    if (problem) failures.push({ seed, text, problem });
  }
  if (failures.length > 0) {
    failures.sort((a, b) => a.text.length - b.text.length);
    const { headline, details } = failures[0].problem;
    fail(`${failures.length} of ${FILES} generated files disagree (seeds ${failures.map((f) => f.seed).join(', ')}); the shortest, ${headline}`, details);
  }
});

generated.after(() => {
  if (process.env.LEXER_ORACLE_VERBOSE) console.log(`\nlexer-oracle: ${checked} inputs checked`);
});

generated.run();
