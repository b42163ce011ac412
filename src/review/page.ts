// The review as one self-contained HTML page (issue 17): no request leaves it, it needs no JavaScript, it prints.
// A pure rendering of the report: the same report and options give the same bytes. Load this module lazily
// (`await import`), it brings highlight.js with it.
import type { MigrationReview, ReviewReport } from '../core/review.js';
import { esc, facts, idPart, lockBadge, plural, rewriteBadge, severityBadge, verdictBadge } from './page-html.js';
import { countBySeverity, migrationVerdict, revertsText, rewrittenTables, strongestLock, type MigrationVerdict } from './page-facts.js';
import { renderSection } from './page-section.js';
import { PAGE_CSS } from './page-style.js';

export interface PageOptions {
  madeAt?: string | Date; // when the review ran; the report's made_at otherwise
  gitCommit?: string | null; // the commit reviewed; the report's git_commit otherwise
}

// default-src 'none': even a bug in escaping could neither run a script nor fetch anything.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

export function renderReviewPage(report: ReviewReport, options: PageOptions = {}): string {
  const ids = report.migrations.map((m, i) => `m${i + 1}-${idPart(m.version)}`);
  const title = `dbvc review: ${pageSubject(report)}`;
  return '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">` +
    `<title>${esc(title)}</title><style>${PAGE_CSS}</style></head>\n<body><main>` +
    `<h1 id="top">${esc(title)}</h1>` +
    renderHeader(report, options) +
    renderSummary(report.migrations, ids) +
    report.migrations.map((m, i) => renderSection(m, ids[i])).join('\n') +
    '</main></body></html>\n';
}

function pageSubject(report: ReviewReport): string {
  const range = `${report.range.from ?? 'base'} → ${report.range.to ?? 'head'}`;
  return report.target ? `${report.target}, ${range}` : range;
}

function renderHeader(report: ReviewReport, options: PageOptions): string {
  const madeAt = options.madeAt ?? report.made_at;
  const commit = options.gitCommit !== undefined ? options.gitCommit : report.git_commit;
  const server = `PostgreSQL ${esc(report.scratch.server_version)}${report.scratch.embedded ? ', embedded' : ', named by --scratch-url'}`;
  const pairs: [string, string][] = [];
  if (report.target) pairs.push(['Target', esc(report.target)]);
  pairs.push(['Range', rangeText(report)]);
  pairs.push(['Scratch server', server]);
  if (madeAt !== undefined) {
    const when = esc(madeAt instanceof Date ? madeAt.toISOString() : madeAt);
    pairs.push(['Made', `<time datetime="${when}">${when}</time>`]);
  }
  if (commit) pairs.push(['Git commit', `<code>${esc(commit)}</code>`]);
  return facts(pairs) + renderVerdict(report);
}

function rangeText(report: ReviewReport): string {
  const from = report.range.from === null ? 'base' : esc(report.range.from);
  const to = report.range.to === null ? 'head' : esc(report.range.to);
  return `the migrations after ${from} up to ${to} (${plural(report.migrations.length, 'migration')})`;
}

function renderVerdict(report: ReviewReport): string {
  const verdict: MigrationVerdict = ['ok', 'findings', 'failed'].includes(report.verdict) ? report.verdict : 'failed';
  const counts = countBySeverity(report.migrations.flatMap((m) => m.findings));
  const notReverting = report.migrations.filter((m) => m.down.reverts === false).length;
  const failed = report.migrations.filter((m) => migrationVerdict(m) === 'failed').length;
  const parts = counts.error + counts.warning + counts.note > 0 || (!notReverting && !failed) ? [findingsText(counts)] : [];
  if (notReverting) parts.push(`${plural(notReverting, 'down')} not reverting ${notReverting === 1 ? 'its' : 'their'} up`);
  if (failed) parts.push(`${plural(failed, 'migration')} failed on the scratch database`);
  return `<p class="verdict"><b>Verdict:</b> ${verdictBadge(verdict)} ${parts.join('; ')}.</p>`;
}

function findingsText(counts: Record<'error' | 'warning' | 'note', number>): string {
  const total = counts.error + counts.warning + counts.note;
  if (total === 0) return 'no findings';
  return `${plural(total, 'finding')} (${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${plural(counts.note, 'note')})`;
}

const COLUMNS = ['Migration', 'Verdict', 'Strongest lock', 'Tables rewritten', 'Findings', 'Down reverts'];

function renderSummary(migrations: MigrationReview[], ids: string[]): string {
  if (migrations.length === 0) return '<h2>Migrations</h2><p>There was nothing to review: the range holds no migration.</p>';
  const head = COLUMNS.map((c) => `<th scope="col" role="columnheader">${c}</th>`).join('');
  const rows = migrations.map((m, i) => summaryRow(m, ids[i]));
  // The roles repeat what the tags say: on a phone the table is drawn as cards (display: block), and browsers
  // then drop a table's meaning for screen readers unless the roles are explicit.
  return '<h2>Migrations</h2><table class="summary" role="table"><thead role="rowgroup"><tr role="row">' +
    `${head}</tr></thead><tbody role="rowgroup">${rows.join('')}</tbody></table>`;
}

// data-label: on a narrow screen each row becomes a card and the cells name their column themselves.
function summaryRow(migration: MigrationReview, id: string): string {
  const strongest = strongestLock(migration.up.statements);
  const rewritten = rewrittenTables(migration.up.statements);
  const reverts = revertsText(migration);
  const cells = [
    verdictBadge(migrationVerdict(migration)),
    strongest ? strongest.relations.map((r) => lockBadge(strongest.mode, r)).join(' ') : 'no lock on a table',
    rewritten.length ? rewritten.map(rewriteBadge).join(' ') : 'none',
    findingCounts(migration),
    `<span class="badge r-${reverts.tone}"><span aria-hidden="true">${reverts.symbol}</span> ${reverts.text}</span>`,
  ];
  const label = `${esc(migration.version)} ${esc(migration.name)}`;
  const tds = cells.map((cell, i) => `<td role="cell" data-label="${COLUMNS[i + 1]}">${cell}</td>`).join('');
  return `<tr role="row" id="${id}-row"><th scope="row" role="rowheader"><a href="#${id}">${label}</a></th>${tds}</tr>`;
}

function findingCounts(migration: MigrationReview): string {
  const counts = countBySeverity(migration.findings);
  const shown = (['error', 'warning', 'note'] as const).filter((s) => counts[s] > 0);
  if (shown.length === 0) return 'none';
  return shown.map((s) => `${severityBadge(s)}&nbsp;×&nbsp;${counts[s]}`).join(' ');
}
