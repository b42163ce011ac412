// A small SQL lexer: splits a file into statements the way PostgreSQL tokenises it, and finds psql meta-commands.

export interface Statement {
  start: number; // string index where the statement's text begins (after the previous ';')
  first: number; // string index of its first token, after leading comments and blanks
  end: number; // string index just past its terminating ';' (or the end of the text)
}

export interface Scan {
  statements: Statement[];
  /** String indexes of backslashes outside literals and comments: psql meta-commands. */
  metaCommands: number[];
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/;

/** Splits on top-level semicolons, skipping comments, strings, quoted identifiers and dollar quotes. */
export function scanSql(text: string): Scan {
  const statements: Statement[] = [];
  const metaCommands: number[] = [];
  let start = 0;
  let first = -1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const next = text[i + 1];
    if (ch === '-' && next === '-') {
      i = skipLineComment(text, i);
      continue;
    }
    if (ch === '/' && next === '*') {
      i = skipBlockComment(text, i);
      continue;
    }
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    if (ch === ';') {
      if (first !== -1) statements.push({ start, first, end: i + 1 }); // PostgreSQL drops empty statements (;;)
      start = i + 1;
      first = -1;
      i += 1;
      continue;
    }
    if (first === -1) first = i;
    if (ch === '\\') metaCommands.push(i);
    i = skipToken(text, i);
  }
  if (first !== -1) statements.push({ start, first, end: text.length });
  return { statements, metaCommands };
}

function skipToken(text: string, i: number): number {
  const ch = text[i];
  const previous = i > 0 ? text[i - 1] : '';
  if (ch === "'") return skipQuoted(text, i, "'", isEscapeString(text, i));
  if (ch === '"') return skipQuoted(text, i, '"', false);
  if (ch === '$' && !IDENT_CHAR.test(previous)) {
    const tag = DOLLAR_TAG.exec(text.slice(i, i + 64));
    if (tag) {
      const close = text.indexOf(tag[0], i + tag[0].length);
      return close === -1 ? text.length : close + tag[0].length;
    }
  }
  return i + 1;
}

/** E'...' strings treat backslash as an escape; standard strings do not. */
function isEscapeString(text: string, quote: number): boolean {
  const prefix = text[quote - 1];
  if (prefix !== 'E' && prefix !== 'e') return false;
  return quote < 2 || !IDENT_CHAR.test(text[quote - 2]);
}

function skipQuoted(text: string, i: number, quote: string, backslashEscapes: boolean): number {
  let j = i + 1;
  while (j < text.length) {
    const ch = text[j];
    if (backslashEscapes && ch === '\\') {
      j += 2;
      continue;
    }
    if (ch === quote) {
      if (text[j + 1] === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j += 1;
  }
  return text.length;
}

function skipLineComment(text: string, i: number): number {
  const end = text.indexOf('\n', i);
  return end === -1 ? text.length : end + 1;
}

function skipBlockComment(text: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < text.length) {
    if (text[j] === '/' && text[j + 1] === '*') {
      depth += 1;
      j += 2;
    } else if (text[j] === '*' && text[j + 1] === '/') {
      depth -= 1;
      j += 2;
      if (depth === 0) return j;
    } else {
      j += 1;
    }
  }
  return text.length;
}

/** 1-based line of a string index. */
export function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) if (text[i] === '\n') line += 1;
  return line;
}
