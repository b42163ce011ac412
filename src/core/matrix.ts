// The fleet matrix: one row per database, sorted, as aligned text columns with a total line (and as JSON, as is).

export type Outcome = 'ok' | 'failed' | 'interrupted' | 'not started';

export interface FleetRow {
  target: string;
  database: string; // host and database name (host:port/name), never a password
  outcome: Outcome;
  known: boolean; // false when where the database stands is unknown (it was never reached, or not started)
  current: string | null; // the revision alembic_version holds; null at base
  head: string | null;
  pending: number | null;
  problems: number | null;
  lastApplied: { version: string; at: string } | null; // the latest migration applied, and when (ISO 8601)
  did: string | null; // upgrade / downgrade: what the run did ("applied 3", "already there")
  moved: number | null; // migrations applied or reverted
  error: { code: string; message: string; hint?: string } | null;
  // review, check and drift only:
  verdict?: Verdict | null; // what the check found, when it ran to the end (null otherwise)
  range?: { from: string | null; to: string | null } | null; // review: the migrations rehearsed for this database
  findings?: number | null; // review: findings in that range, of every severity
  differences?: string[]; // check and drift: each difference, in words
}

/** review: ok, findings, failed (on the scratch database), at head (nothing to review); check: equal, differs; drift: none, drift. */
export type Verdict = 'ok' | 'findings' | 'failed' | 'at head' | 'equal' | 'differs' | 'none' | 'drift';

export type MatrixKind = 'status' | 'move' | 'review' | 'check' | 'drift';

/** Rows of a per-target command (check, review of a range) have this as their database. */
export const WHOLE_TARGET = '-';

const NOTE_WIDTH = 120;

/** By target, then database, with numbers inside names compared as numbers (tenant_2 before tenant_10). */
export function sortRows(rows: FleetRow[]): FleetRow[] {
  return [...rows].sort((a, b) => compareNatural(a.target, b.target) || compareNatural(a.database, b.database));
}

export function compareNatural(a: string, b: string): number {
  const x = a.match(/\d+|\D+/g) ?? [];
  const y = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const bothDigits = /^\d/.test(x[i]) && /^\d/.test(y[i]);
    const order = bothDigits ? compareDigits(x[i], y[i]) : x[i] < y[i] ? -1 : x[i] > y[i] ? 1 : 0;
    if (order !== 0) return order;
  }
  return x.length - y.length;
}

function compareDigits(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : a.length - b.length;
}

/** The matrix as lines: a header, one row per database (sorted), and the total line. */
export function formatMatrix(rows: FleetRow[], kind: MatrixKind): string[] {
  const sorted = sortRows(rows);
  const cells = sorted.map((row) => COLUMNS[kind].cells(row));
  return [...alignColumns([COLUMNS[kind].header, ...cells]), totalLine(sorted, kind)];
}

const COLUMNS: Record<MatrixKind, { header: string[]; cells(row: FleetRow): string[] }> = {
  status: { header: ['TARGET', 'DATABASE', 'CURRENT', 'HEAD', 'PENDING', 'PROBLEMS', 'LAST APPLIED', 'NOTE'], cells: statusCells },
  move: { header: ['TARGET', 'DATABASE', 'RESULT', 'CURRENT', 'HEAD', 'PENDING', 'NOTE'], cells: moveCells },
  review: { header: ['TARGET', 'DATABASE', 'CURRENT', 'REVIEWED', 'VERDICT', 'FINDINGS', 'NOTE'], cells: reviewCells },
  check: { header: ['TARGET', 'HEAD', 'RESULT', 'NOTE'], cells: (row) => [row.target, row.outcome === 'ok' ? row.head ?? 'base' : '?', verdictCell(row), note(row)] },
  drift: { header: ['TARGET', 'DATABASE', 'CURRENT', 'RESULT', 'NOTE'], cells: (row) => [row.target, row.database, currentCell(row), verdictCell(row), note(row)] },
};

function reviewCells(row: FleetRow): string[] {
  const reviewed = row.range ? `${row.range.from ?? 'base'} -> ${row.range.to ?? 'base'}` : '-';
  const current = row.database === WHOLE_TARGET ? '-' : currentCell(row);
  return [row.target, row.database, current, reviewed, verdictCell(row), count(row.findings ?? null).replace('?', '-'), note(row)];
}

/** The verdict, with the number of differences; a run that did not finish says how it ended. */
function verdictCell(row: FleetRow): string {
  if (row.outcome !== 'ok') return row.outcome === 'failed' ? `failed (${row.error?.code ?? '?'})` : row.outcome;
  const differences = row.differences?.length ?? 0;
  if (row.verdict === 'failed') return 'failed on scratch';
  if (row.verdict === 'none') return 'no drift';
  return differences > 0 ? `${row.verdict} (${differences})` : row.verdict ?? 'ok';
}

function statusCells(row: FleetRow): string[] {
  const last = row.lastApplied ? `${row.lastApplied.version} at ${row.lastApplied.at}` : '-';
  return [row.target, row.database, currentCell(row), row.head ?? '-', count(row.pending), count(row.problems), row.known ? last : '?', note(row)];
}

function moveCells(row: FleetRow): string[] {
  const result = row.outcome === 'ok' ? row.did ?? 'ok' : row.outcome === 'failed' ? `failed (${row.error?.code ?? '?'})` : row.outcome;
  return [row.target, row.database, result, currentCell(row), row.head ?? '-', count(row.pending), note(row)];
}

function currentCell(row: FleetRow): string {
  return row.known ? row.current ?? 'base' : '?';
}

function count(value: number | null): string {
  return value === null ? '?' : String(value);
}

function note(row: FleetRow): string {
  if (row.outcome === 'not started') return 'not started: an earlier database failed, or the run was stopped';
  const text = (row.error?.message ?? row.differences?.[0] ?? '').split('\n')[0];
  return text.length > NOTE_WIDTH ? `${text.slice(0, NOTE_WIDTH - 1)}…` : text;
}

function alignColumns(table: string[][]): string[] {
  const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
  return table.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ').trimEnd());
}

/** "20 databases: 18 at head, 2 behind (5 pending), ..." with the parts that are zero left out. */
export function totalLine(rows: FleetRow[], kind: MatrixKind): string {
  const n = (outcome: Outcome) => rows.filter((r) => r.outcome === outcome).length;
  const ok = rows.filter((r) => r.outcome === 'ok');
  const parts = kind === 'status' ? statusParts(ok) : kind === 'move' ? moveParts(ok) : verdictParts(ok, kind);
  parts.push([n('failed'), 'failed'], [n('interrupted'), 'interrupted'], [n('not started'), 'not started']);
  const said = parts.filter(([value]) => value > 0).map(([value, text]) => `${value} ${text}`);
  const noun = rows.length > 0 && rows.every((r) => r.database === WHOLE_TARGET) ? 'target' : 'database';
  const total = `${rows.length} ${noun}${rows.length === 1 ? '' : 's'}${said.length > 0 ? `: ${said.join(', ')}` : ''}`;
  if (kind !== 'review') return total;
  const rehearsals = new Set(rows.filter((r) => r.range).map((r) => `${r.target} ${r.range!.from}:${r.range!.to}`)).size;
  return `${total}; ${rehearsals} rehearsal${rehearsals === 1 ? '' : 's'}`;
}

const VERDICT_WORDS: Record<Verdict, string> = {
  ok: 'ok', findings: 'with findings', failed: 'failed on scratch', 'at head': 'at head (nothing to review)',
  equal: 'equal', differs: 'differ', none: 'without drift', drift: 'drifted',
};

function verdictParts(ok: FleetRow[], kind: 'review' | 'check' | 'drift'): [number, string][] {
  const verdicts: Verdict[] = kind === 'review' ? ['ok', 'findings', 'failed', 'at head'] : kind === 'check' ? ['equal', 'differs'] : ['none', 'drift'];
  return verdicts.map((v) => [ok.filter((r) => r.verdict === v).length, VERDICT_WORDS[v]]);
}

function statusParts(ok: FleetRow[]): [number, string][] {
  const behind = ok.filter((r) => (r.pending ?? 0) > 0);
  const pending = behind.reduce((sum, r) => sum + (r.pending ?? 0), 0);
  const atHead = ok.filter((r) => r.pending === 0 && r.problems === 0).length;
  return [[atHead, 'at head'], [behind.length, `behind (${pending} pending)`], [ok.filter((r) => (r.problems ?? 0) > 0).length, 'with problems']];
}

function moveParts(ok: FleetRow[]): [number, string][] {
  const moved = ok.filter((r) => (r.moved ?? 0) > 0);
  const migrations = moved.reduce((sum, r) => sum + (r.moved ?? 0), 0);
  return [[moved.length, `moved (${migrations} migration${migrations === 1 ? '' : 's'})`], [ok.length - moved.length, 'already there']];
}
