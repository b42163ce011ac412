// What the page says about a review, derived from the report alone: lock strengths, per-migration verdicts,
// counts. Pure, so the page and its tests agree on the same facts.
import type { Finding, MigrationReview, ReviewError, Severity, TracedStatement } from '../core/review.js';

/** How much a lock mode stops other sessions; the page words it and colours it (colour never alone). */
export interface LockLevel {
  rank: number; // higher blocks more
  tone: 'severe' | 'high' | 'medium' | 'low';
  blocks: string; // what a reader is told it blocks
}

// pg_locks mode names, weakest first, with what each stops on the same table (PostgreSQL's conflict table).
const LOCK_LEVELS: Record<string, LockLevel> = {
  AccessShareLock: { rank: 1, tone: 'low', blocks: 'blocks only DROP, TRUNCATE and most ALTER TABLE' },
  RowShareLock: { rank: 2, tone: 'low', blocks: 'blocks only DDL that locks the whole table' },
  RowExclusiveLock: { rank: 3, tone: 'low', blocks: 'blocks only DDL that locks the whole table' },
  ShareUpdateExclusiveLock: { rank: 4, tone: 'medium', blocks: 'blocks other DDL and VACUUM' },
  ShareLock: { rank: 5, tone: 'high', blocks: 'blocks writes' },
  ShareRowExclusiveLock: { rank: 6, tone: 'high', blocks: 'blocks writes' },
  ExclusiveLock: { rank: 7, tone: 'high', blocks: 'blocks writes and locking reads' },
  AccessExclusiveLock: { rank: 8, tone: 'severe', blocks: 'blocks reads and writes' },
};
const UNKNOWN_LEVEL: LockLevel = { rank: 0, tone: 'medium', blocks: 'an unknown lock mode' };

export function lockLevel(mode: string): LockLevel {
  return Object.hasOwn(LOCK_LEVELS, mode) ? LOCK_LEVELS[mode] : UNKNOWN_LEVEL;
}

export interface StrongestLock {
  mode: string;
  relations: string[]; // sorted, the relations held in that mode
}

/** The strongest mode any statement of the up file took, and on which relations; null when it took none. */
export function strongestLock(statements: TracedStatement[]): StrongestLock | null {
  let best: StrongestLock | null = null;
  for (const statement of statements) {
    for (const lock of statement.locks) {
      const rank = lockLevel(lock.mode).rank;
      if (!best || rank > lockLevel(best.mode).rank) best = { mode: lock.mode, relations: [lock.relation] };
      else if (lock.mode === best.mode && !best.relations.includes(lock.relation)) best.relations.push(lock.relation);
    }
  }
  best?.relations.sort();
  return best;
}

/** Every relation the up file rewrote, once each, sorted. */
export function rewrittenTables(statements: TracedStatement[]): string[] {
  return [...new Set(statements.flatMap((s) => s.rewrites))].sort();
}

export type SeverityCounts = Record<Severity, number>;

export function countBySeverity(findings: Finding[]): SeverityCounts {
  const counts: SeverityCounts = { error: 0, warning: 0, note: 0 };
  for (const finding of findings) counts[finding.severity] = (counts[finding.severity] ?? 0) + 1;
  return counts;
}

export type MigrationVerdict = 'ok' | 'findings' | 'failed';

/** A migration failed when any run of it failed on the scratch database; it has findings when the linter or
 *  the trace found something, or when its down does not take the schema back. */
export function migrationVerdict(migration: MigrationReview): MigrationVerdict {
  const downFailed = migration.down.file !== null && !migration.down.ok; // no down file: nothing ran, nothing failed
  if (firstError(migration) || !migration.up.ok || downFailed || !migration.reapply.ok) return 'failed';
  if (migration.findings.length > 0 || migration.down.reverts === false) return 'findings';
  return 'ok';
}

export function firstError(migration: MigrationReview): ReviewError | null {
  return migration.up.error ?? migration.down.error ?? migration.reapply.error ?? null;
}

/** The words and symbol of a verdict: the symbol says it without colour, the words without the symbol. */
export const VERDICT_LABELS: Record<MigrationVerdict, { symbol: string; text: string }> = {
  ok: { symbol: '✓', text: 'ok' },
  findings: { symbol: '⚠', text: 'findings' },
  failed: { symbol: '✗', text: 'failed' },
};

export const SEVERITY_LABELS: Record<Severity, { symbol: string; text: string }> = {
  error: { symbol: '✗', text: 'error' },
  warning: { symbol: '⚠', text: 'warning' },
  note: { symbol: 'ℹ', text: 'note' },
};

/** The down's verdict in words: reverts, does not revert, or why it could not be checked. */
export function revertsText(migration: MigrationReview): { symbol: string; text: string; tone: 'ok' | 'bad' | 'unknown' } {
  if (migration.down.reverts === true) return { symbol: '✓', text: 'yes', tone: 'ok' };
  if (migration.down.reverts === false) return { symbol: '✗', text: 'no', tone: 'bad' };
  if (migration.down.file === null) return { symbol: '–', text: 'no down file', tone: 'unknown' };
  return { symbol: '?', text: 'not checked', tone: 'unknown' };
}

/** Total time of a run's statements on the scratch database, in milliseconds. */
export function totalMs(statements: TracedStatement[]): number {
  return statements.reduce((sum, s) => sum + s.ms, 0);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return ms >= 100 ? `${Math.round(ms)} ms` : `${Number(ms.toFixed(1))} ms`;
}
