// A migration's SQL with each statement preceded by SQL comments giving what review found there: its traced
// locks, rewrites and time, and the findings on its lines. Only comments are added.
import { scanSql } from './lexer.js';
import type { Finding, RunTrace } from './review.js';

const PREFIX = '-- dbvc review:';

/**
 * The text with comment lines inserted before each statement's first token. `trace` is the statements as traced
 * (in order, empty statements left out, as trace does); `findings` those on this file.
 */
export function annotateSql(text: string, trace: RunTrace, findings: Finding[]): string {
  const statements = scanSql(text).statements.filter((s) => s.words.length > 0);
  let result = '';
  let from = 0;
  for (const [index, statement] of statements.entries()) {
    const traced = trace.statements[index];
    const lineOfFirst = countLines(text, statement.first);
    const nextLine = index + 1 < statements.length ? countLines(text, statements[index + 1].first) : Infinity;
    const here = findings.filter((f) => f.line >= lineOfFirst && f.line < nextLine);
    const notes = [...describeTrace(traced, index, trace), ...here.map(describeFinding)];
    result += text.slice(from, statement.first);
    if (notes.length > 0) result += `${notes.map((n) => `${PREFIX} ${oneLine(n)}`).join('\n')}\n${indentOf(text, statement.first)}`;
    from = statement.first;
  }
  return result + text.slice(from);
}

function describeTrace(traced: RunTrace['statements'][number] | undefined, index: number, trace: RunTrace): string[] {
  if (!traced) {
    const failed = index === trace.statements.length && trace.error ? `failed on the scratch database: ${trace.error.sqlstate ?? ''} ${trace.error.message}` : 'not reached on the scratch database';
    return [failed];
  }
  const locks = traced.locks.length > 0 ? traced.locks.map((l) => `${l.mode} ${l.relation}`).join(', ') : traced.locks_observed === false ? 'not observable' : 'none new';
  const rewrites = traced.rewrites.length > 0 ? traced.rewrites.join(', ') : 'none';
  return [`locks ${locks}; rewrites ${rewrites}; ${traced.ms} ms on scratch`];
}

function describeFinding(f: Finding): string {
  return `${f.severity} ${f.rule} (${f.source}, ${f.line}:${f.column}): ${f.message}${f.help ? ` (help: ${f.help})` : ''}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

// The statement keeps its column: the comment block takes the place of whatever preceded it on its line.
function indentOf(text: string, index: number): string {
  const lineStart = text.lastIndexOf('\n', index - 1) + 1;
  const before = text.slice(lineStart, index);
  return /^[ \t]*$/.test(before) ? before : '';
}

function countLines(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
}
