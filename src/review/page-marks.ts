// The marks a listing carries above its lines: each statement's traced locks and rewrites, each finding with its
// rule, severity and help, and the error a run stopped at.
import type { Finding, ReviewError, TracedStatement } from '../core/review.js';
import { addMark, countLines, renderListing, textFromStatements } from './page-code.js';
import { esc, idPart, lockBadge, rewriteBadge, severityBadge } from './page-html.js';
import { formatMs, lockLevel } from './page-facts.js';

export interface ListingInput {
  idPrefix: string; // unique in the page, e.g. m1-up
  label: string; // what a screen reader calls the listing, e.g. "up file sql/x/0005_a.up.sql"
  text: string | null | undefined; // the file's text when the report carries it
  statements: TracedStatement[];
  findings: Finding[]; // those of this file
  error: ReviewError | null; // where this run stopped, when it failed in this file
  errorTitle: string; // e.g. "The up failed here"
}

export function renderMarkedListing(input: ListingInput): string {
  const text = input.text ?? textFromStatements(input.statements);
  const lineCount = countLines(text);
  const marks = new Map<number, string[]>();
  input.statements.forEach((statement) => {
    if (statement.locks.length || statement.rewrites.length) {
      addMark(marks, statement.line, lineCount, statementMark(statement));
    }
  });
  input.findings.forEach((finding, i) => {
    addMark(marks, finding.line, lineCount, findingMark(finding, findingId(input.idPrefix, i)));
  });
  if (input.error) addMark(marks, input.error.line, lineCount, errorMark(input.error, input.errorTitle));
  return renderListing(text, marks, input.idPrefix, input.label);
}

export function findingId(idPrefix: string, index: number): string {
  return `${idPrefix}-f${index + 1}`;
}

// Strongest lock first: that is the one a reviewer weighs.
function statementMark(statement: TracedStatement): string {
  const locks = [...statement.locks].sort((a, b) => lockLevel(b.mode).rank - lockLevel(a.mode).rank);
  const badges = [
    ...locks.map((lock) => `<li>${lockBadge(lock.mode, lock.relation)}</li>`),
    ...statement.rewrites.map((relation) => `<li>${rewriteBadge(relation)}</li>`),
  ];
  const head = `Statement at line ${esc(statement.line)} (${formatMs(statement.ms)})`;
  return `<div class="mark stmt"><p class="mark-head">${head}</p><ul class="badges">${badges.join('')}</ul></div>`;
}

function findingMark(finding: Finding, id: string): string {
  const where = `line ${esc(finding.line)}, column ${esc(finding.column)}`;
  const help = finding.help ? `<p class="help"><b>Help:</b> ${esc(finding.help)}</p>` : '';
  return `<div class="mark finding sev-${idPart(finding.severity)}" id="${id}">` +
    `<p class="mark-head">${severityBadge(finding.severity)} <b class="rule">${esc(finding.rule)}</b>` +
    ` <span class="source">(${esc(finding.source)}, ${where})</span></p>` +
    `<p class="message">${esc(finding.message)}</p>${help}</div>`;
}

function errorMark(error: ReviewError, title: string): string {
  return `<div class="mark error-mark" role="note"><p class="mark-head"><span aria-hidden="true">✗</span> ${esc(title)}` +
    `${error.line === null ? '' : ` (line ${esc(error.line)})`}</p><p class="message">${errorText(error)}</p></div>`;
}

/** An error as people read it: file:line, SQLSTATE, message. */
export function errorText(error: ReviewError): string {
  const where = `${esc(error.file)}${error.line === null ? '' : `:${esc(error.line)}`}`;
  const state = error.sqlstate ? ` SQLSTATE ${esc(error.sqlstate)}:` : '';
  return `<code>${where}</code>${state} ${esc(error.message)}`;
}
