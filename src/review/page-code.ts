// SQL listings of the review page: highlighted when the page is written (highlight.js, core and the PostgreSQL
// grammar only, ~15 ms to load, so it is loaded by this module alone), numbered, with marks (locks, findings)
// just above their lines. The listing scrolls sideways; its marks stay in view and wrap (see page-style.ts).
import hljs from 'highlight.js/lib/core';
import pgsql from 'highlight.js/lib/languages/pgsql';
import type { TracedStatement } from '../core/review.js';
import { esc } from './page-html.js';

hljs.registerLanguage('pgsql', pgsql);

/** The file as lines of highlighted HTML, spans closed at each line end and reopened on the next line. */
export function highlightLines(text: string): string[] {
  const html = hljs.highlight(normalizeText(text), { language: 'pgsql', ignoreIllegals: true }).value;
  return splitSpans(html);
}

// highlight.js escapes the text and emits only <span class="..."> and </span>; anything else is escaped again.
function splitSpans(html: string): string[] {
  const lines: string[] = [];
  const open: string[] = [];
  let line = '';
  for (const [piece] of html.matchAll(/<span class="[\w\s.-]*">|<\/span>|\n|[^<\n]+|</g)) {
    if (piece === '\n') {
      lines.push(line + '</span>'.repeat(open.length));
      line = open.join('');
    } else if (piece === '</span>') {
      if (open.pop() !== undefined) line += piece;
    } else if (piece.startsWith('<span')) {
      open.push(piece);
      line += piece;
    } else {
      line += piece === '<' ? '&lt;' : piece;
    }
  }
  lines.push(line + '</span>'.repeat(open.length));
  return lines;
}

/** Without the file's text (an older report), the traced statements stand at their own lines. */
export function textFromStatements(statements: TracedStatement[]): string {
  const lines: string[] = [];
  for (const statement of statements) {
    const first = Math.max(1, Math.floor(statement.line)) - 1;
    statement.sql.replace(/\r\n?/g, '\n').split('\n').forEach((text, i) => {
      if (lines[first + i] === undefined || lines[first + i] === '') lines[first + i] = text;
    });
  }
  return Array.from(lines, (text) => text ?? '').join('\n');
}

/** A numbered listing in one scrolling block; marks (HTML) are keyed by the 1-based line they stand above. */
export function renderListing(text: string, marks: Map<number, string[]>, idPrefix: string, label: string): string {
  const lines = highlightLines(text);
  const rows: string[] = [];
  lines.forEach((html, i) => {
    const above = marks.get(i + 1);
    if (above) rows.push(`<div class="marks">${above.join('')}</div>`);
    rows.push(`<div class="line" id="${idPrefix}-L${i + 1}"><span class="ln">${i + 1}</span><code>${html}</code></div>`);
  });
  const after = marks.get(lines.length + 1);
  if (after) rows.push(`<div class="marks">${after.join('')}</div>`);
  // tabindex: a block that scrolls must be reachable from the keyboard
  return `<div class="code" role="region" tabindex="0" aria-label="${esc(label)}">${rows.join('')}</div>`;
}

/** Marks keyed by line, clamped into 1..lineCount+1 so a mark on a line the text lacks still shows. */
export function addMark(marks: Map<number, string[]>, line: number | null, lineCount: number, html: string): void {
  const at = line === null || !Number.isFinite(line) ? lineCount + 1 : Math.min(Math.max(1, Math.floor(line)), lineCount + 1);
  const list = marks.get(at);
  if (list) list.push(html);
  else marks.set(at, [html]);
}

export function countLines(text: string): number {
  return normalizeText(text).split('\n').length;
}

// As the checksum sees the file (no BOM, LF), without the final newline that would show as an empty last line.
function normalizeText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').replace(/\n$/, '');
}
