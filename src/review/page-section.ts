// One migration's section of the review page: its facts, findings, schema changes, the up listing, and the down
// with whether it takes the schema back.
import type { Finding, MigrationReview, SchemaChange } from '../core/review.js';
import { findingId, errorText, renderMarkedListing } from './page-marks.js';
import { facts, esc, plural, severityBadge, verdictBadge } from './page-html.js';
import { formatMs, migrationVerdict, revertsText, totalMs } from './page-facts.js';

// Said once per migration so that a statement without a mark reads as "took no lock", not as "not traced".
const LISTING_HINT = '<p class="hint">Each statement that took a lock on a table or rewrote one is marked above its ' +
  'first line, with what the lock blocks; findings and errors stand above the line they name.</p>';

export function renderSection(migration: MigrationReview, id: string): string {
  const { upFindings, downFindings, otherFindings } = splitFindings(migration);
  const title = `${esc(migration.version)} ${esc(migration.name)}`;
  return `<section id="${id}" aria-labelledby="${id}-h">` +
    `<h2 id="${id}-h">${title} ${verdictBadge(migrationVerdict(migration))}</h2>` +
    sectionFacts(migration) +
    renderFindingList(migration, id, upFindings, downFindings, otherFindings) +
    `<h3>Schema changes</h3>${renderChanges(migration.changes, 'The up changes nothing in the schema.')}` +
    `<h3>Up: ${esc(migration.file)}</h3>${LISTING_HINT}` +
    renderMarkedListing({
      idPrefix: `${id}-up`, label: `up file ${migration.file}`, text: migration.up_sql, statements: migration.up.statements,
      findings: upFindings, error: migration.up.error, errorTitle: 'The up failed here on the scratch database',
    }) +
    renderDown(migration, id, downFindings) +
    `<p><a href="#top">Back to the summary</a></p></section>`;
}

function sectionFacts(migration: MigrationReview): string {
  const transaction = migration.transaction ? 'one transaction' : 'no transaction (dbvc:no-transaction): statement by statement';
  const times = [`up ${formatMs(totalMs(migration.up.statements))}`];
  if (migration.down.statements.length) times.push(`down ${formatMs(totalMs(migration.down.statements))}`); // a down that never ran has no time
  const reapply = migration.reapply.ok
    ? '<span class="badge r-ok"><span aria-hidden="true">✓</span> the up applied again after its down</span>'
    : `<span class="badge r-bad"><span aria-hidden="true">✗</span> the up failed when applied again</span>` +
      (migration.reapply.error ? ` ${errorText(migration.reapply.error)}` : '');
  return facts([
    ['Up file', `<code>${esc(migration.file)}</code>`],
    ['Runs in', transaction],
    ['Time on the scratch database', times.join(', ')],
    ['Up again after down', reapplyNotTried(migration) ?? reapply],
  ]);
}

function reapplyNotTried(migration: MigrationReview): string | null {
  if (migration.down.file === null) return 'not tried (no down file)';
  if (!migration.up.ok) return 'not tried (the up failed)';
  if (!migration.down.ok) return 'not tried (the down failed)';
  return null;
}

// A finding belongs to the listing of the file it names; one naming neither file stays in the list only.
function splitFindings(migration: MigrationReview): { upFindings: Finding[]; downFindings: Finding[]; otherFindings: Finding[] } {
  const upFindings: Finding[] = [];
  const downFindings: Finding[] = [];
  const otherFindings: Finding[] = [];
  for (const finding of migration.findings) {
    if (isSameFile(finding.file, migration.file)) upFindings.push(finding);
    else if (migration.down.file !== null && isSameFile(finding.file, migration.down.file)) downFindings.push(finding);
    else otherFindings.push(finding);
  }
  return { upFindings, downFindings, otherFindings };
}

// The report names files relative to the project, but a linter may hand back a longer path for the same file.
function isSameFile(a: string, b: string): boolean {
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`);
}

function renderFindingList(migration: MigrationReview, id: string, up: Finding[], down: Finding[], other: Finding[]): string {
  const heading = `<h3>Findings (${migration.findings.length})</h3>`;
  if (migration.findings.length === 0) return `${heading}<p>No findings.</p>`;
  const items = [
    ...up.map((f, i) => findingItem(f, `#${findingId(`${id}-up`, i)}`)),
    ...down.map((f, i) => findingItem(f, `#${findingId(`${id}-down`, i)}`)),
    ...other.map((f) => findingItem(f, null)),
  ];
  return `${heading}<ul class="findings">${items.join('')}</ul>`;
}

function findingItem(finding: Finding, href: string | null): string {
  const where = `${esc(finding.file)}:${esc(finding.line)}:${esc(finding.column)}`;
  const place = href ? `<a href="${href}">${where}</a>` : where;
  const detail = href ? '' : ` ${esc(finding.message)}${finding.help ? ` Help: ${esc(finding.help)}` : ''}`;
  return `<li>${severityBadge(finding.severity)} <b>${esc(finding.rule)}</b> at ${place}${detail}</li>`;
}

const CHANGE_SYMBOLS: Record<string, string> = { added: '+', changed: '~', removed: '−' };

export function renderChanges(changes: SchemaChange[], none: string): string {
  if (changes.length === 0) return `<p>${none}</p>`;
  const items = changes.map((c) => {
    const symbol = CHANGE_SYMBOLS[c.change] ?? '•';
    const detail = c.detail ? `: ${esc(c.detail)}` : '';
    return `<li><span class="chg"><span aria-hidden="true">${symbol}</span> ${esc(c.change)}</span> ${esc(c.kind)} <code>${esc(c.name)}</code>${detail}</li>`;
  });
  return `<ul class="changes">${items.join('')}</ul>`;
}

function renderDown(migration: MigrationReview, id: string, findings: Finding[]): string {
  const down = migration.down;
  if (down.file === null) {
    return `<h3>Down</h3><p><span class="badge r-unknown"><span aria-hidden="true">–</span> no down file</span>` +
      ` This migration cannot be downgraded: a downgrade across it stops before doing anything.</p>`;
  }
  const reverts = revertsText(migration);
  const verdict = `<p class="reverts">Down reverts the up: <span class="badge r-${reverts.tone}">` +
    `<span aria-hidden="true">${reverts.symbol}</span> ${reverts.text}</span></p>`;
  const differences = down.reverts === false
    ? `<p>After the down, the schema differs from the schema before the up in ${plural(down.differences.length, 'place')}:</p>` +
      renderChanges(down.differences, 'The report lists no difference.')
    : '';
  return `<h3>Down: ${esc(down.file)}</h3>${verdict}${differences}` +
    renderMarkedListing({
      idPrefix: `${id}-down`, label: `down file ${down.file}`, text: migration.down_sql, statements: down.statements,
      findings, error: down.error, errorTitle: 'The down failed here on the scratch database',
    });
}
