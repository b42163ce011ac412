// What the rehearsal knows that no text rule does: findings from a migration's trace, squawk's findings refined
// by it, and the verdict and exit code of a whole review.
import type { Finding, MigrationReview, ReviewReport, RunTrace, Severity, TracedStatement } from './review.js';

/** pg_locks mode names, weakest first. */
export const LOCK_MODES = ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];

/** squawk's JSON reporter, one element per finding (line and column 0-based). */
export interface SquawkRow {
  file: string;
  line: number;
  column: number;
  level: string; // "Warning" | "Error"
  message: string;
  help: string | null;
  rule_name: string;
}

/** squawk's rows as findings on the files as shown (`shown` maps squawk's path to ours). */
export function readSquawkRows(rows: SquawkRow[], shown: (path: string) => string): Finding[] {
  return rows.map((row) => ({
    rule: row.rule_name, source: 'squawk', severity: row.level.toLowerCase() === 'error' ? 'error' : 'warning',
    file: shown(row.file), line: row.line + 1, column: row.column + 1, message: row.message, help: row.help ?? '',
  }));
}

export interface TracedFile {
  file: string;
  transaction: boolean;
  trace: RunTrace;
}

/** dbvc's own findings on one traced file. */
export function traceFindings(traced: TracedFile): Finding[] {
  const findings: Finding[] = [];
  const at = (statement: { line: number }, rule: string, severity: Severity, message: string, help: string) =>
    findings.push({ rule, source: 'dbvc', severity, file: traced.file, line: statement.line, column: 1, message, help });
  const held = new Set<string>(); // relations under ACCESS EXCLUSIVE in the open transaction
  let holder: TracedStatement | undefined;
  const statements = traced.trace.statements;
  for (const [index, statement] of statements.entries()) {
    if (holder && index === statements.indexOf(holder) + 1) {
      const later = statements.length - index;
      at(statement, 'statement-after-access-exclusive', 'warning',
        `${later} statement${later === 1 ? '' : 's'} from here run${later === 1 ? 's' : ''} while ACCESS EXCLUSIVE on ${[...held].join(', ')} (taken at line ${holder.line}) is held until COMMIT`,
        'every read and write of those tables waits meanwhile: take that lock last, or move the other statements to their own migration');
    }
    const exclusive = statement.locks.filter((l) => l.mode === 'AccessExclusiveLock').map((l) => l.relation);
    if (!traced.transaction) held.clear();
    for (const relation of exclusive) held.add(relation);
    if (statement.rewrites.length > 0 && held.size > 0) {
      at(statement, 'rewrite-under-access-exclusive', 'warning',
        `rewrites ${statement.rewrites.join(', ')} while holding ACCESS EXCLUSIVE on ${[...held].join(', ')}`,
        'reads and writes wait for the whole copy of the table: on a large table, add a new column and backfill it in batches instead');
    }
    if (traced.transaction && exclusive.length > 0 && !holder) holder = statement;
  }
  const error = traced.trace.error;
  if (error?.sqlstate === '55P04' && error.line !== null) {
    at({ line: error.line }, 'enum-value-used-in-transaction', 'error',
      `uses an enum value added by ALTER TYPE ... ADD VALUE in the same transaction: ${error.message}`,
      'commit the ADD VALUE first: put it in its own migration, or mark this file -- dbvc:no-transaction');
  }
  return findings;
}

/**
 * squawk flags every type change; where the trace shows the statement rewrote nothing (varchar(20) to text), the
 * finding is kept as a note that says so.
 */
export function refineTypeChanges(findings: Finding[], traced: TracedFile): Finding[] {
  const statements = traced.trace.statements;
  return findings.map((finding) => {
    if (finding.rule !== 'changing-column-type' || finding.file !== traced.file) return finding;
    const index = statements.findIndex((s, i) => s.line <= finding.line && (i + 1 === statements.length || statements[i + 1].line > finding.line));
    if (index === -1 || statements[index].rewrites.length > 0) return finding;
    return { ...finding, severity: 'note', message: `${finding.message} (dbvc: on the scratch database this statement rewrote nothing)` };
  });
}

export function missingDownFinding(upFile: string): Finding {
  return {
    rule: 'missing-down', source: 'dbvc', severity: 'warning', file: upFile, line: 1, column: 1,
    message: 'this migration has no down file: a downgrade across it is refused, and review cannot prove it reversible',
    help: 'write the matching .down.sql',
  };
}

const RANK: Record<Severity, number> = { note: 0, warning: 1, error: 2 };

/** Whether a migration's up, down or reapply failed on the scratch database (a step that did not run is skipped). */
export function hasFailed(m: MigrationReview): boolean {
  return m.up.error !== null || m.down.error !== null || m.reapply.error !== null || m.skipped !== undefined;
}

/** failed: something did not run; findings: a finding at or above failOn, or a down that does not revert. */
export function decideVerdict(migrations: MigrationReview[], failOn: Severity): ReviewReport['verdict'] {
  if (migrations.some(hasFailed)) return 'failed';
  const isFlagged = (m: MigrationReview) => m.down.reverts === false || m.findings.some((f) => RANK[f.severity] >= RANK[failOn]);
  return migrations.some(isFlagged) ? 'findings' : 'ok';
}

/** The documented exit codes: 0 ok, 3 findings, 1 failed. */
export function exitCodeOf(verdict: ReviewReport['verdict']): number {
  return verdict === 'ok' ? 0 : verdict === 'findings' ? 3 : 1;
}
