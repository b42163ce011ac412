// A migration file's bytes -> its text, checksum and directives, or the problems that make it unusable.
import { checksumText } from './checksum.js';
import { DbvcError } from './errors.js';
import { lineOf, scanSql } from './lexer.js';

export interface SqlFile {
  path: string; // as shown to people, e.g. sql/local/0001_create_product.up.sql
  text: string; // decoded, BOM dropped; sent to the server as written
  checksum: string;
  noTransaction: boolean;
  alembicRevision?: string;
}

export type ParseResult = { file: SqlFile; problems: [] } | { file?: undefined; problems: DbvcError[] };

const DIRECTIVE = /^--\s*dbvc:(\S*)\s*(.*?)\s*$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes and checks one migration file; every problem names the file and, where it can, the line. */
export function parseFile(path: string, bytes: Uint8Array): ParseResult {
  let decoded: string;
  try {
    decoded = decoder.decode(bytes);
  } catch {
    return fail(path, 'is not valid UTF-8', 'save it as UTF-8');
  }
  const text = decoded.startsWith('\uFEFF') ? decoded.slice(1) : decoded;
  if (text.includes('\u0000')) return fail(path, 'contains a NUL byte; it is not a SQL text file', 'check that the right file is in the migrations folder');
  const problems: DbvcError[] = [];
  const directives = readDirectives(path, text, problems);
  const scan = scanSql(text);
  if (scan.statements.length === 0) {
    problems.push(problem(path, 'has no SQL statement (it is empty or only comments)', 'write the migration, or delete the file'));
  }
  for (const index of scan.metaCommands) {
    const line = lineOf(text, index);
    problems.push(problem(`${path}:${line}`, `holds a psql meta-command (${metaCommandName(text, index)}); the server cannot run it`, 'inline the SQL it refers to, or run it with psql outside dbvc', path));
  }
  if (problems.length > 0) return { problems };
  return { file: { path, text, checksum: checksumText(text), ...directives }, problems: [] };
}

interface Directives {
  noTransaction: boolean;
  alembicRevision?: string;
}

/** Directives live in the leading comment block: `-- dbvc:no-transaction`, `-- dbvc:alembic-revision <id>`. */
function readDirectives(path: string, text: string, problems: DbvcError[]): Directives {
  const found: Directives = { noTransaction: false };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
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
