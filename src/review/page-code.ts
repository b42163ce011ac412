// SQL listings of the review page: highlighted when the page is written (highlight.js, its core and SQL grammar
// only, imported by this module alone), numbered, with marks (locks, findings) just above their lines. The listing scrolls sideways; its marks stay in view and wrap (see page-style.ts).
import type { HLJSApi, Language } from 'highlight.js';
import hljs from 'highlight.js/lib/core';
import sql from 'highlight.js/lib/languages/sql';
import type { TracedStatement } from '../core/review.js';
import { esc } from './page-html.js';

// Words of migrations that standard SQL's list lacks (CREATE INDEX CONCURRENTLY, VACUUM, DO, ...).
const POSTGRES_KEYWORDS = ('index concurrently vacuum analyze reindex extension sequence do policy materialized refresh ' +
  'comment rename attach detach validate enum domain schema if cascade raise notice perform loop include replace ' +
  'unlogged temporary nowait lock share exclusive reset generated stored always owned immutable stable volatile ' +
  'strict definer invoker security tablespace inherit replica transaction isolation storage statistics cluster ' +
  'restart continue elsif while foreach exit exception before after instead enable disable force valid ' +
  'deferrable initially deferred immediate').split(' ');

// highlight.js's generic SQL plus PostgreSQL's E'' and dollar-quoted strings (a body shows as one string). Its
// pgsql grammar also highlights inside function bodies, but compiling it costs 60-120 ms before the first line,
// the page's whole budget (issue 17: <= 100 ms added to a review of 20 migrations); this one 25-50 ms.
function postgres(api: HLJSApi): Language {
  const language = sql(api);
  const dollarQuoted = api.END_SAME_AS_BEGIN({ scope: 'string', begin: /\$([A-Za-z_][A-Za-z_0-9]*)?\$/, end: /\$([A-Za-z_][A-Za-z_0-9]*)?\$/ });
  const escapeString = { scope: 'string', begin: /\b[eE]'/, end: /'/, contains: [{ begin: /\\./ }, { begin: /''/ }] };
  const keywords = language.keywords as { keyword: string[] };
  return {
    ...language, name: 'PostgreSQL',
    keywords: { ...keywords, keyword: [...keywords.keyword, ...POSTGRES_KEYWORDS] },
    contains: [dollarQuoted, escapeString, ...(language.contains ?? [])],
  };
}
hljs.registerLanguage('postgres', postgres);

/** The file as lines of highlighted HTML, spans closed at each line end and reopened on the next line. */
export function highlightLines(text: string): string[] {
  const html = hljs.highlight(normalizeText(text), { language: 'postgres', ignoreIllegals: true }).value;
  return splitSpans(html);
}

// highlight.js escapes all text and emits no tag but <span class="..."> and </span> (the page tests check it),
// so the markup is cut at line ends and the spans open there are closed and reopened: a scan by indexOf, since
// this runs on every line of every file (a regular expression over the whole text cost twice as much).
function splitSpans(html: string): string[] {
  const lines: string[] = [];
  let open: string[] = [];
  for (const segment of html.split('\n')) {
    const line = open.length ? open.join('') + segment : segment;
    open = spansOpenAfter(segment, open);
    lines.push(open.length ? line + '</span>'.repeat(open.length) : line);
  }
  return lines;
}

function spansOpenAfter(segment: string, before: string[]): string[] {
  let at = segment.indexOf('<');
  if (at === -1) return before;
  const open = [...before];
  while (at !== -1) {
    const end = segment.indexOf('>', at);
    if (segment.startsWith('</', at)) open.pop();
    else open.push(segment.slice(at, end + 1));
    at = segment.indexOf('<', end);
  }
  return open;
}

/** Without the file's text (up_sql and down_sql are optional), the traced statements stand at their own lines. */
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
