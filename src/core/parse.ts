// A migration file's bytes -> its text, checksum and directives, or the problems that make it unusable.
import { checksumText } from './checksum.js';
import { DbvcError } from './errors.js';
import { lineOf, scanSql, type Statement } from './lexer.js';

export interface SqlFile {
  path: string; // as shown to people, e.g. sql/local/0001_create_product.up.sql
  text: string; // decoded, BOM dropped; sent to the server as written
  checksum: string;
  noTransaction: boolean;
  alembicRevision?: string;
  isEmpty?: boolean; // a down file with no statement: a deliberate "nothing to undo"
}

export type ParseResult = { file: SqlFile; problems: [] } | { file?: undefined; problems: DbvcError[] };

const DIRECTIVE = /^--\s*dbvc:(\S*)\s*(.*?)\s*$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes and checks one migration file; every problem names the file and, where it can, the line. A string is
 * text already decoded without loss (the caller read it as UTF-8 and found no U+FFFD replacement character).
 */
export function parseFile(path: string, content: Uint8Array | string, isEmptyAllowed = false): ParseResult {
  let decoded: string;
  try {
    decoded = typeof content === 'string' ? content : decoder.decode(content);
  } catch {
    return fail(path, 'is not valid UTF-8', 'save it as UTF-8');
  }
  const text = decoded.startsWith('\uFEFF') ? decoded.slice(1) : decoded;
  if (text.includes('\u0000')) return fail(path, 'contains a NUL byte; it is not a SQL text file', 'check that the right file is in the migrations folder');
  const problems: DbvcError[] = [];
  const directives = readDirectives(path, text, problems);
  if (cannotHoldRefusedSql(text)) {
    if (problems.length > 0) return { problems };
    return { file: { path, text, checksum: checksumText(text), ...directives }, problems: [] };
  }
  const scan = scanSql(text);
  const isEmpty = scan.statements.length === 0;
  if (isEmpty && !isEmptyAllowed) {
    problems.push(problem(path, 'has no SQL statement (it is empty or only comments)', 'write the migration, or delete the file'));
  }
  for (const index of scan.metaCommands) {
    const line = lineOf(text, index);
    problems.push(problem(`${path}:${line}`, `holds a psql meta-command (${metaCommandName(text, index)}); the server cannot run it`, 'inline the SQL it refers to, or run it with psql outside dbvc', path));
  }
  for (const statement of scan.statements) {
    const trouble = explainStatement(statement, directives.noTransaction);
    if (trouble) problems.push(problem(`${path}:${lineOf(text, statement.first)}`, trouble.what, trouble.hint, path));
  }
  if (problems.length > 0) return { problems };
  return { file: { path, text, checksum: checksumText(text), ...directives, ...(isEmpty ? { isEmpty } : {}) }, problems: [] };
}

// Every statement explainStatement refuses holds one of these words, so a file without any of them (nor a
// backslash, a block comment or a non-ASCII character, which the lexer treats specially) holds nothing to refuse,
// and skips the lexer: scanning every file costs most of a status or an --sql render's own time (bench W2, W4).
// Keep it in step with explainStatement and refusesTransaction; test/core/parse.test.ts names every rule.
const REFUSAL_WORDS = /\b(?:begin|start|commit|end|rollback|abort|prepare|stdin|stdout|concurrently|reindex|vacuum|database|tablespace|subscription|system|discard)\b|[\\\u0080-\uFFFF]|\/\*/i;

function cannotHoldRefusedSql(text: string): boolean {
  return !REFUSAL_WORDS.test(text) && startsAStatement(text);
}

/** Whether an ASCII text has a character besides blanks, semicolons and -- comments (then the lexer decides). */
function startsAStatement(text: string): boolean {
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 45 /* - */ && text.charCodeAt(i + 1) === 45) {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i += 1;
    } else if (code === 59 /* ; */ || code === 32 || (code >= 9 && code <= 13)) {
      i += 1;
    } else {
      return true;
    }
  }
  return false;
}

const TRANSACTION_CONTROL = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'PREPARE']);

/** Statements dbvc refuses before running anything: they would hang, break its transaction, or fail in one. */
function explainStatement(statement: Statement, noTransaction: boolean): { what: string; hint: string } | undefined {
  const words = statement.words;
  const head = words.slice(0, 3).join(' ');
  if (statement.hasStdio) {
    return { what: 'holds COPY ... STDIN (or STDOUT), which needs psql to stream the data', hint: 'use INSERT statements, or COPY from a file on the database server' };
  }
  if (isTransactionControl(words)) {
    return { what: `holds ${head}: dbvc runs each file in its own transaction, and this would end or nest it`, hint: 'remove it; for statements that cannot run in a transaction use -- dbvc:no-transaction in their own file' };
  }
  const refusing = refusesTransaction(words);
  if (refusing && !noTransaction) {
    return { what: `holds ${refusing}, which cannot run inside a transaction block`, hint: 'add "-- dbvc:no-transaction" to the leading comments of this file (it then runs statement by statement); keep such statements in a file of their own' };
  }
  return undefined;
}

function isTransactionControl(words: string[]): boolean {
  const [first, second] = words;
  if (!TRANSACTION_CONTROL.has(first)) return false;
  if (first === 'ROLLBACK') return second !== 'TO'; // ROLLBACK TO SAVEPOINT stays inside the transaction
  if (first === 'START') return second === 'TRANSACTION';
  if (first === 'PREPARE') return second === 'TRANSACTION';
  return true;
}

/** The statement kinds PostgreSQL refuses inside a transaction block (error 25001), named for the message. */
export function refusesTransaction(words: string[]): string | undefined {
  const [a, b, c] = words;
  const early = words.slice(0, 5);
  if ((a === 'CREATE' && (b === 'INDEX' || (b === 'UNIQUE' && c === 'INDEX'))) && early.includes('CONCURRENTLY')) return `${a} ${b === 'UNIQUE' ? 'UNIQUE INDEX' : 'INDEX'} CONCURRENTLY`;
  if (a === 'DROP' && b === 'INDEX' && early.includes('CONCURRENTLY')) return 'DROP INDEX CONCURRENTLY';
  if (a === 'REINDEX' && (early.includes('CONCURRENTLY') || early.includes('DATABASE') || early.includes('SYSTEM'))) return early.includes('CONCURRENTLY') ? 'REINDEX CONCURRENTLY' : `REINDEX ${early.includes('DATABASE') ? 'DATABASE' : 'SYSTEM'}`;
  if (a === 'VACUUM') return 'VACUUM';
  if ((a === 'CREATE' || a === 'DROP') && (b === 'DATABASE' || b === 'TABLESPACE' || b === 'SUBSCRIPTION')) return `${a} ${b}`;
  if (a === 'ALTER' && b === 'SYSTEM') return 'ALTER SYSTEM';
  if (a === 'ALTER' && b === 'DATABASE' && words.includes('TABLESPACE')) return 'ALTER DATABASE ... SET TABLESPACE';
  if (a === 'DISCARD' && b === 'ALL') return 'DISCARD ALL';
  return undefined;
}

/** Whether a file's leading comments ask for -- dbvc:no-transaction (also for SQL recorded in the history). */
export function hasNoTransactionDirective(text: string): boolean {
  return readDirectives('', text, []).noTransaction;
}

interface Directives {
  noTransaction: boolean;
  alembicRevision?: string;
}

/** Directives live in the leading comment block: `-- dbvc:no-transaction`, `-- dbvc:alembic-revision <id>`. */
function readDirectives(path: string, text: string, problems: DbvcError[]): Directives {
  const found: Directives = { noTransaction: false };
  // line by line up to the first that is not a comment (most files have no header: no need to split them all)
  for (let i = 0, at = 0; at <= text.length; i++) {
    const newline = text.indexOf('\n', at);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(at, end).trim();
    at = end + 1;
    if (line === '') continue;
    if (!line.startsWith('--')) break;
    const match = DIRECTIVE.exec(line);
    if (!match) continue;
    const [, name, argument] = match;
    const where = `${path}:${i + 1}`;
    if (name === 'no-transaction' && argument === '') {
      found.noTransaction = true;
    } else if (name === 'alembic-revision' && /^\w{1,32}$/.test(argument)) {
      found.alembicRevision = argument;
    } else if (name === 'alembic-revision') {
      problems.push(problem(where, `has dbvc:alembic-revision with ${argument ? `an invalid id "${argument}"` : 'no id'}`, 'write -- dbvc:alembic-revision <id>, the id Alembic stored (letters, digits, _; at most 32)', path));
    } else {
      problems.push(problem(where, `has an unknown directive "dbvc:${name}${argument ? ' ' + argument : ''}"`, 'known directives: -- dbvc:no-transaction, -- dbvc:alembic-revision <id>', path));
    }
  }
  return found;
}

function metaCommandName(text: string, index: number): string {
  const match = /^\\[A-Za-z!?]*/.exec(text.slice(index, index + 20));
  return match && match[0].length > 1 ? match[0] : '\\';
}

function problem(where: string, what: string, hint: string, file = where): DbvcError {
  return new DbvcError('file', `${where} ${what}`, { file, hint });
}

function fail(path: string, what: string, hint: string): ParseResult {
  return { problems: [problem(path, what, hint)] };
}
