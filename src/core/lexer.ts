// A small SQL lexer: splits a file into statements the way PostgreSQL does, and finds psql meta-commands.
// We keep our own rather than loading PostgreSQL's parser (libpg-query, WASM) at run time: it costs ~60 ms
// of start-up for every command, while this splitter agrees with it on our differential tests
// (test/core/lexer-oracle.test.ts) and needs only the statement boundaries and leading keywords.

export interface Statement {
  start: number; // string index where the statement's text begins (after the previous ';')
  first: number; // string index of its first token, after leading comments and blanks
  end: number; // string index just past its terminating ';' (or the end of the text)
  words: string[]; // its first keywords and identifiers, upper-cased (at most MAX_WORDS)
  hasStdio: boolean; // STDIN or STDOUT appears as a word outside parentheses (COPY ... FROM STDIN)
}

export interface Scan {
  statements: Statement[];
  /** String indexes of backslashes outside literals and comments: psql meta-commands. */
  metaCommands: number[];
}

const MAX_WORDS = 12;
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/y;
const UNICODE_SPACE = /\s/;
// Runs of the commonest characters, spaces and the rest of an identifier or number, are skipped by the regular
// expression engine (compiled to native code after its first uses), fewer turns of this module's own loop, which
// a command runs over each file once, mostly in V8's interpreter.
const SPACES = /\s+/y;
const IDENT_REST = /[A-Za-z0-9_$\u0080-\uFFFF]*/y;

// Character tests on char codes: this loop sees every character of every file, and a regular expression
// per character made it the slowest part of `dbvc upgrade --sql` (bench W4). Same classes as before:
// identifiers are ASCII letters, digits, _ and $ plus everything from U+0080; spaces are JavaScript's \s.
// Past either end of the text charCodeAt gives NaN, which is in no class.
function isIdentStart(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code >= 0x80;
}

function isIdentChar(code: number): boolean {
  return isIdentStart(code) || (code >= 48 && code <= 57) || code === 36;
}

function isSpace(code: number): boolean {
  if (code === 32 || (code >= 9 && code <= 13)) return true;
  return code >= 0x80 && UNICODE_SPACE.test(String.fromCharCode(code));
}

interface Current {
  start: number;
  first: number;
  words: string[];
  hasStdio: boolean;
  parens: number;
  blocks: number; // BEGIN ATOMIC ... END depth (and CASE ... END inside) in CREATE FUNCTION / PROCEDURE
  isRoutine: boolean;
  previous: string; // the previous token: an upper-cased word or a punctuation character
}

/** Splits on top-level semicolons, skipping comments, strings, quoted identifiers and dollar quotes. */
export function scanSql(text: string): Scan {
  const statements: Statement[] = [];
  const metaCommands: number[] = [];
  let current = fresh(0);
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (code === 45 /* - */ && next === 45) {
      i = skipLineComment(text, i);
    } else if (code === 47 /* / */ && next === 42 /* * */) {
      i = skipBlockComment(text, i);
    } else if (isSpace(code)) {
      SPACES.lastIndex = i;
      SPACES.test(text);
      i = SPACES.lastIndex;
    } else if (code === 59 /* ; */ && current.parens === 0 && current.blocks === 0) {
      if (current.first !== -1) statements.push(finish(current, i + 1)); // PostgreSQL drops empty statements (;;)
      current = fresh(i + 1);
      i += 1;
    } else {
      if (current.first === -1) current.first = i;
      i = readToken(text, i, current, metaCommands);
    }
  }
  if (current.first !== -1) statements.push(finish(current, text.length));
  return { statements, metaCommands };
}

function fresh(start: number): Current {
  return { start, first: -1, words: [], hasStdio: false, parens: 0, blocks: 0, isRoutine: false, previous: '' };
}

function finish(current: Current, end: number): Statement {
  return { start: current.start, first: current.first, end, words: current.words, hasStdio: current.hasStdio };
}

function readToken(text: string, i: number, current: Current, metaCommands: number[]): number {
  const ch = text[i];
  const previous = current.previous;
  current.previous = ch;
  if (ch === '\\') {
    metaCommands.push(i);
    return i + 1;
  }
  if (ch === '(') current.parens += 1;
  if (ch === ')' && current.parens > 0) current.parens -= 1;
  if (ch === "'") return skipString(text, i, isEscapeString(text, i));
  if (ch === '"') return skipQuoted(text, i, '"', false);
  if (ch === '$' && !isIdentChar(text.charCodeAt(i - 1))) {
    DOLLAR_TAG.lastIndex = i;
    const tag = DOLLAR_TAG.exec(text);
    if (tag) {
      const close = text.indexOf(tag[0], i + tag[0].length);
      return close === -1 ? text.length : close + tag[0].length;
    }
  }
  if (isIdentStart(text.charCodeAt(i)) && !isIdentChar(text.charCodeAt(i - 1))) {
    IDENT_REST.lastIndex = i + 1;
    IDENT_REST.test(text);
    const j = IDENT_REST.lastIndex;
    const isPrefix = text[j] === "'" || (text[j] === '&' && (text[j + 1] === "'" || text[j + 1] === '"')); // E'', U&''
    const word = text.slice(i, j).toUpperCase();
    current.previous = word;
    const isLabel = previous === 'AS' || previous === '.'; // t.end, AS case: names, not keywords
    if (!isPrefix) noteWord(current, word, isLabel, previous);
    return j;
  }
  return i + 1;
}

/**
 * Tracks leading words, STDIN/STDOUT, and SQL-standard routine bodies: in CREATE FUNCTION / PROCEDURE,
 * BEGIN ATOMIC opens a body whose semicolons do not end the statement, closed by its END (CASE ... END nests).
 */
function noteWord(current: Current, word: string, isLabel: boolean, previous: string): void {
  if (current.words.length < MAX_WORDS) current.words.push(word);
  if (current.parens > 0 || isLabel) return;
  if ((word === 'STDIN' || word === 'STDOUT') && current.words[0] === 'COPY') current.hasStdio = true;
  if (current.words.length <= 4) current.isRoutine = isRoutineHead(current.words);
  if (!current.isRoutine) return;
  if (word === 'ATOMIC' && previous === 'BEGIN' && current.blocks === 0) current.blocks = 1;
  else if (word === 'CASE' && current.blocks > 0) current.blocks += 1;
  else if (word === 'END' && current.blocks > 0) current.blocks -= 1;
}

function isRoutineHead(words: string[]): boolean {
  const [a, b, c, d] = words;
  if (a !== 'CREATE') return false;
  if (b === 'FUNCTION' || b === 'PROCEDURE') return true;
  return b === 'OR' && c === 'REPLACE' && (d === 'FUNCTION' || d === 'PROCEDURE');
}

/** E'...' strings treat backslash as an escape; standard strings do not. */
function isEscapeString(text: string, quote: number): boolean {
  const prefix = text[quote - 1];
  if (prefix !== 'E' && prefix !== 'e') return false;
  return quote < 2 || !isIdentChar(text.charCodeAt(quote - 2));
}

/** A '' string, and the strings that continue it: separated by whitespace holding a newline, they are one literal. */
function skipString(text: string, i: number, backslashEscapes: boolean): number {
  let end = skipQuoted(text, i, "'", backslashEscapes);
  for (;;) {
    const next = continuation(text, end);
    if (next === -1) return end;
    end = skipQuoted(text, next, "'", backslashEscapes);
  }
}

/** Index of the quote that continues a string ending at `end`, or -1. */
function continuation(text: string, end: number): number {
  let j = end;
  let sawNewline = false;
  while (j < text.length) {
    const ch = text[j];
    if (ch === '\n' || ch === '\r') sawNewline = true;
    if (ch === '-' && text[j + 1] === '-' && sawNewline) {
      j = skipLineComment(text, j);
      continue;
    }
    if (!isSpace(text.charCodeAt(j))) break;
    j += 1;
  }
  return sawNewline && text[j] === "'" ? j : -1;
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

/** A -- comment runs to the end of the line; PostgreSQL ends it at \r as well as \n. */
function skipLineComment(text: string, i: number): number {
  let j = i;
  while (j < text.length && text[j] !== '\n' && text[j] !== '\r') j += 1;
  return Math.min(j + 1, text.length);
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

// Text the lexer is needed for when asking whether the last statement ends with its ';': quotes, dollar quotes,
// comments, backslashes, and BEGIN ATOMIC bodies. Without them only parentheses can hide a ';'.
const NEEDS_LEXER = /['"$\\]|--|\/\*|atomic/i;

/**
 * Whether the text's last statement lacks its terminating ';' (false for text without a statement). Rendering asks
 * this of every file, so plain text is answered with native string searches instead of a scan.
 */
export function endsOpen(text: string): boolean {
  if (NEEDS_LEXER.test(text)) {
    const last = scanSql(text).statements.at(-1);
    return last !== undefined && text[last.end - 1] !== ';';
  }
  let depth = 0; // as the lexer counts: a ')' without its '(' is ignored
  for (const paren of text.replace(/[^()]/g, '')) depth = paren === '(' ? depth + 1 : Math.max(0, depth - 1);
  if (depth > 0) return !text.endsWith(';'); // an open '(': the last statement runs to the end of the text
  const trimmed = text.trimEnd();
  return !trimmed.endsWith(';') && /[^\s;]/.test(trimmed);
}

/** 1-based line of a string index. */
export function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < text.length; i++) if (text[i] === '\n') line += 1;
  return line;
}

/**
 * The SQL without its comments, each run of blanks and comments made one space: two texts with the same result
 * differ only in whitespace or comments (literals, quoted names and dollar quotes are kept as written).
 */
export function withoutComments(text: string): string {
  const parts: string[] = [];
  const scratch = fresh(0);
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    let j: number;
    if (code === 45 /* - */ && next === 45) j = skipLineComment(text, i);
    else if (code === 47 /* / */ && next === 42 /* * */) j = skipBlockComment(text, i);
    else if (isSpace(code)) j = i + 1;
    else {
      j = readToken(text, i, scratch, []);
      parts.push(text.slice(i, j));
      i = j;
      continue;
    }
    if (parts.length > 0 && parts[parts.length - 1] !== ' ') parts.push(' ');
    i = j;
  }
  return parts.join('').trim();
}
