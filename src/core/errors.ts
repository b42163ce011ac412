// The one error class dbvc throws on purpose, its codes, and the exit code each maps to.

export type ErrorCode =
  | 'usage' // a flag, argument or revision the user typed is wrong
  | 'config' // env file, URL, target name or directory is wrong
  | 'file' // a migration file is malformed
  | 'state' // the database is somewhere dbvc will not move from (drift, unknown revision, branches)
  | 'irreversible' // a downgrade would cross a migration without a down file
  | 'sql' // a migration failed on the server
  | 'lock' // another run holds the migration lock
  | 'connect' // the server could not be reached or refused us
  | 'check' // status --exit-code found pending work or a problem
  | 'lint' // the linter review relies on (squawk) could not run
  | 'engine' // the schema differ (@pgkit/migra) failed, or its DDL did not reproduce the schema it was made from
  | 'interrupted'; // Ctrl-C or SIGTERM

/** Stable exit codes; README lists them. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  sql: 1,
  lint: 1,
  engine: 1,
  usage: 2,
  config: 2,
  file: 2,
  irreversible: 2,
  check: 3,
  state: 3,
  lock: 4,
  connect: 5,
  interrupted: 130,
};

export interface ErrorOptions {
  file?: string;
  hint?: string;
  /** Extra lines shown under the message (a source excerpt, a list of problems). */
  lines?: string[];
  cause?: unknown;
}

export class DbvcError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly hint?: string;
  readonly lines: string[];

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbvcError';
    this.code = code;
    this.file = options.file;
    this.hint = options.hint;
    this.lines = options.lines ?? [];
  }
}

export interface SourcePoint {
  line: number; // 1-based
  column: number; // 1-based, in code points
  text: string; // the whole source line
}

/** Turns a 1-based code-point offset (PostgreSQL's `position`) into line and column. */
export function locateOffset(source: string, position: number): SourcePoint {
  const chars = Array.from(source);
  const index = Math.max(0, Math.min(position - 1, chars.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index; i++) {
    if (chars[i] === '\n') {
      line += 1;
      lineStart = i + 1;
    }
  }
  let lineEnd = chars.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = chars.length;
  const text = chars.slice(lineStart, lineEnd).join('').replace(/\r$/, '');
  return { line, column: index - lineStart + 1, text };
}

const EXCERPT_WIDTH = 160;

/** The line and a caret under the column, for showing where a statement failed; long lines are cut around it. */
export function excerpt(point: SourcePoint): string[] {
  const gutter = `${point.line} | `;
  const pad = ' '.repeat(gutter.length - 2) + '| ';
  const chars = Array.from(point.text);
  const start = chars.length <= EXCERPT_WIDTH ? 0 : Math.max(0, Math.min(point.column - 1 - EXCERPT_WIDTH / 2, chars.length - EXCERPT_WIDTH));
  const shown = chars.slice(start, start + EXCERPT_WIDTH);
  const head = start > 0 ? '…' : '';
  const tail = start + EXCERPT_WIDTH < chars.length ? '…' : '';
  const indent = (head ? ' ' : '') + shown.slice(0, point.column - 1 - start).map((ch) => (ch === '\t' ? '\t' : ' ')).join('');
  return [gutter + head + shown.join('') + tail, pad + indent + '^'];
}

/**
 * A DbvcError, also one made by a second copy of this module: under tsx, a module reached through a dynamic
 * import (connect.ts) gets its own copy of this one, and instanceof fails across the two.
 */
export function isDbvcError(error: unknown): error is DbvcError {
  return error instanceof DbvcError || (error instanceof Error && error.name === 'DbvcError' && typeof (error as DbvcError).code === 'string');
}
