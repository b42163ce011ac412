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
}

export type MatrixKind = 'status' | 'move';

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
  const header = kind === 'status'
    ? ['TARGET', 'DATABASE', 'CURRENT', 'HEAD', 'PENDING', 'PROBLEMS', 'LAST APPLIED', 'NOTE']
    : ['TARGET', 'DATABASE', 'RESULT', 'CURRENT', 'HEAD', 'PENDING', 'NOTE'];
  const cells = sorted.map((row) => (kind === 'status' ? statusCells(row) : moveCells(row)));
  return [...alignColumns([header, ...cells]), totalLine(sorted, kind)];
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
  if (!row.error) return '';
  const text = row.error.message.split('\n')[0];
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
  const parts = kind === 'status' ? statusParts(ok) : moveParts(ok);
  parts.push([n('failed'), 'failed'], [n('interrupted'), 'interrupted'], [n('not started'), 'not started']);
  const said = parts.filter(([value]) => value > 0).map(([value, text]) => `${value} ${text}`);
  return `${rows.length} database${rows.length === 1 ? '' : 's'}${said.length > 0 ? `: ${said.join(', ')}` : ''}`;
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
