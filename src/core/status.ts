// Every migration with its state, for `status` and `show`: applied (when, by whom), pending, out of order, changed,
// or recorded as applied with its file gone.
import type { DatabaseState, Migration, Position, Recorded } from './plan.js';

export type MigrationState = 'applied' | 'pending' | 'out of order' | 'changed' | 'missing file' | 'unknown';

export interface MigrationRow {
  version: string;
  name: string | null;
  file: string | null; // the up file; null for a missing file
  state: MigrationState;
  appliedAt: Date | null;
  appliedBy: string | null;
  appliedHow: string | null; // the event that applied it: up, stamp, adopted, repair
  down: 'file' | 'empty' | 'none' | 'recorded'; // empty: a deliberate no-op; recorded: only dbvc_history has its down SQL
}

/**
 * One row per migration file, in order, plus one per version dbvc_history records as applied below the current
 * revision that no file has any more. While the position is lost (an unknown revision, several rows) no file's
 * state is known.
 */
export function listMigrationStates(migrations: Migration[], position: Position, state: DatabaseState): MigrationRow[] {
  const rows = migrations.map((m, index) => rowFor(m, stateOf(m, index, position), state.recorded.get(m.version)));
  if (position.isLost) return rows;
  const known = new Set(migrations.map((m) => m.version));
  const currentNumber = position.index >= 0 ? migrations[position.index].number : -1n;
  for (const recorded of state.recorded.values()) {
    if (known.has(recorded.version) || !/^\d+$/.test(recorded.version) || BigInt(recorded.version) > currentNumber) continue;
    rows.push({ ...appliedFields(recorded), version: recorded.version, name: recorded.name ?? null, file: null, state: 'missing file', down: recorded.hasDownSql || recorded.downSql ? 'recorded' : 'none' });
  }
  return rows.sort((a, b) => compareVersions(a.version, b.version));
}

function stateOf(m: Migration, index: number, position: Position): MigrationState {
  if (position.isLost) return 'unknown';
  if (index > position.index) return 'pending';
  if (position.outOfOrder.includes(m)) return 'out of order';
  if (position.drifted.includes(m)) return 'changed';
  return 'applied'; // with no history row when only another tool moved the database (the next upgrade adopts it)
}

function rowFor(m: Migration, state: MigrationState, recorded: Recorded | undefined): MigrationRow {
  const isApplied = state === 'applied' || state === 'changed';
  const down = m.down ? (m.down.isEmpty ? 'empty' : 'file') : recorded?.hasDownSql || recorded?.downSql ? 'recorded' : 'none';
  return { version: m.version, name: m.name, file: m.up.path, state, ...(isApplied && recorded ? appliedFields(recorded) : none), down };
}

const none = { appliedAt: null, appliedBy: null, appliedHow: null };

function appliedFields(recorded: Recorded) {
  return { appliedAt: recorded.appliedAt ?? null, appliedBy: recorded.appliedBy ?? null, appliedHow: recorded.event };
}

function compareVersions(a: string, b: string): number {
  const x = /^\d+$/.test(a) ? BigInt(a) : 0n;
  const y = /^\d+$/.test(b) ? BigInt(b) : 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}
