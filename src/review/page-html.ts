// Small markup pieces of the review page. Every string that comes from a report goes through esc(): a migration
// file may hold `</script>` or `<img onerror=...>`, and the page must show it as text.
import type { Severity } from '../core/review.js';
import { lockLevel, SEVERITY_LABELS, VERDICT_LABELS, type MigrationVerdict } from './page-facts.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text to HTML text or attribute value (the page quotes every attribute with "). */
export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** An id fragment from report text: letters, digits, `-` and `_` only, so it is safe in id and href. */
export function idPart(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]+/g, '_');
}

export function verdictBadge(verdict: MigrationVerdict): string {
  const label = VERDICT_LABELS[verdict] ?? VERDICT_LABELS.failed;
  return `<span class="badge v-${verdict}"><span aria-hidden="true">${label.symbol}</span> ${label.text}</span>`;
}

export function severityBadge(severity: Severity): string {
  const label = SEVERITY_LABELS[severity] ?? SEVERITY_LABELS.error;
  return `<span class="badge s-${idPart(severity)}"><span aria-hidden="true">${label.symbol}</span> ${label.text}</span>`;
}

/** A lock: its mode and relation, and in words what it blocks (the colour only repeats the words). */
export function lockBadge(mode: string, relation: string | null): string {
  const level = lockLevel(mode);
  const on = relation === null ? '' : ` on ${esc(relation)}`;
  return `<span class="badge lock l-${level.tone}"><b>${esc(mode)}</b>${on}` +
    ` <span class="blocks">(${esc(level.blocks)})</span></span>`;
}

export function rewriteBadge(relation: string): string {
  return `<span class="badge rewrite"><span aria-hidden="true">↻</span> rewrites <b>${esc(relation)}</b></span>`;
}

/** A definition list of label/value pairs; values are HTML already, labels are our own words. */
export function facts(pairs: [string, string][]): string {
  const rows = pairs.map(([label, value]) => `<div><dt>${label}</dt><dd>${value}</dd></div>`);
  return `<dl class="facts">${rows.join('')}</dl>`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
