// status, current, upgrade and downgrade over a fleet: each database an ordinary run, each target's files read once,
// and one matrix row per database. review, check and drift (verify.ts) build on the same pieces: a per-unit function
// for runFleet and a row for each result.
import { moveWithMigrations, type MoveOptions, type Reporter, type RunResult } from '../api.js';
import { isDbvcError } from '../core/errors.js';
import { failureKind, worstExitCode, type FailureKind } from '../core/fleet.js';
import { sortRows, type FleetRow } from '../core/matrix.js';
import { storedId, type Migration, type Step } from '../core/plan.js';
import { loadMigrations, readMigrations } from '../fs.js';
import { status, type ReadFiles, type StatusReport } from '../inspect.js';
import { runFleet, type FleetEvents, type FleetPolicy, type UnitResult } from './run.js';
import type { FleetTarget, FleetUnit } from './targets.js';

export interface FleetOptions {
  policy: FleetPolicy;
  signal?: AbortSignal;
  reporterFor(unit: FleetUnit): Reporter; // each database's progress, kept apart (the CLI prefixes its lines)
  events?: FleetEvents;
}

export interface FleetReport {
  rows: FleetRow[]; // sorted by target, then database
  exitCode: number; // 0 when every database succeeded, else that of the most serious failure (core/fleet.ts)
}

/**
 * The hook for further fleet commands (check and drift use it; review groups its databases by range first): `work` runs on each database under the policy, with
 * that database's reporter; `toRow` turns each success into its matrix row. Failed, interrupted and unstarted
 * databases get their rows (with `extra`, say the target's head) and the exit code here.
 */
export async function fleetEach<T>(targets: FleetTarget[], options: FleetOptions, work: (unit: FleetUnit, report: Reporter, signal?: AbortSignal) => Promise<T>, toRow: (unit: FleetUnit, value: T) => FleetRow, extra: (unit: FleetUnit) => Partial<FleetRow> = () => ({})): Promise<FleetReport & { results: UnitResult<T>[] }> {
  const run = (unit: FleetUnit, signal?: AbortSignal) => work(unit, options.reporterFor(unit), signal);
  const results = await runFleet(targets.flatMap((t) => t.units), run, options.policy, options.signal, options.events);
  const rows = results.map((r) => (r.outcome === 'ok' ? toRow(r.unit, r.value) : { ...failedRow(r), ...extra(r.unit) }));
  return { ...finish(results, rows), results };
}

/**
 * status on every database of every target, each target's files read once. Read-only, so every database is
 * visited whatever fails (keepGoing and canary do not apply); a database that cannot be read is a failed row.
 */
export async function fleetStatus(targets: FleetTarget[], options: FleetOptions): Promise<FleetReport> {
  const files = new Map<string, Promise<ReadFiles>>();
  for (const t of targets) {
    const read = readMigrations(t.config.migrationsDir, t.config.migrationsLabel);
    read.catch(() => undefined); // a missing folder: reported by each of the target's databases
    files.set(t.name, read);
  }
  const heads = new Map<string, string | null>();
  for (const t of targets) heads.set(t.name, headAndPending((await files.get(t.name)!.catch(() => ({ migrations: [] }))).migrations, null).head);
  const work = async (unit: FleetUnit, report: Reporter, signal?: AbortSignal) => status(unit.config, { report, signal }, await files.get(unit.target)!);
  const policy = { ...options.policy, keepGoing: true, canary: 0 };
  const { rows, exitCode } = await fleetEach(targets, { ...options, policy }, work, statusRow, (unit) => ({ head: heads.get(unit.target) }));
  return { rows, exitCode };
}

function statusRow(unit: FleetUnit, report: StatusReport): FleetRow {
  const applied = report.migrations.filter((m) => m.appliedAt !== null && (m.state === 'applied' || m.state === 'changed' || m.state === 'out of order'));
  const last = applied.reduce<typeof applied[number] | null>((latest, m) => (latest === null || m.appliedAt! > latest.appliedAt! ? m : latest), null);
  return {
    ...emptyRow(unit), outcome: 'ok', known: report.applied !== null, current: report.current, head: report.head,
    pending: report.applied === null ? null : report.pending.length, problems: report.problems.length,
    lastApplied: last ? { version: last.version, at: last.appliedAt!.toISOString() } : null,
  };
}

/**
 * upgrade (direction 'up') or downgrade to `revision` on every database, each with its own connection, lock and
 * transactions; each target's files are read and checksummed once. A target whose files are malformed fails all
 * of its databases without connecting to any.
 */
export async function fleetMove(targets: FleetTarget[], direction: 'up' | 'down', revision: string, options: FleetOptions & Omit<MoveOptions, 'report' | 'signal'>): Promise<FleetReport> {
  const loaded = new Map<string, Promise<Migration[]>>();
  for (const t of targets) {
    const read = loadMigrations(t.config.migrationsDir, t.config.migrationsLabel);
    read.catch(() => undefined); // reported by each of the target's databases
    loaded.set(t.name, read);
  }
  const { policy, signal, reporterFor, events, ...move } = options;
  const where = new Map<FleetUnit, Position>();
  const work = async (unit: FleetUnit) => {
    const migrations = await loaded.get(unit.target)!;
    const position: Position = {};
    where.set(unit, position);
    const report = tracking(reporterFor(unit), position);
    return { migrations, result: await moveWithMigrations(unit.config, migrations, direction, revision, { ...move, report, signal }) };
  };
  const results = await runFleet(targets.flatMap((t) => t.units), work, policy, signal, events);
  const heads = new Map<string, Migration[]>();
  for (const t of targets) heads.set(t.name, await loaded.get(t.name)!.catch(() => []));
  const rows = results.map((r) => (r.outcome === 'ok'
    ? moveRow(r.unit, r.value.migrations, r.value.result, direction)
    : { ...failedRow(r), ...stoppedAt(where.get(r.unit), heads.get(r.unit.target)!) }));
  return finish(results, rows);
}

/** Where a run that did not finish left its database: after its last step that committed, else before its first. */
interface Position {
  first?: string | null;
  last?: string | null;
}

function tracking(report: Reporter, position: Position): Reporter {
  return {
    ...report,
    stepStart(step: Step) {
      if (position.first === undefined) position.first = step.from;
      report.stepStart?.(step);
    },
    stepDone(step: Step, ms: number) {
      position.last = step.to;
      report.stepDone?.(step, ms);
    },
  };
}

function stoppedAt(position: Position | undefined, migrations: Migration[]): Partial<FleetRow> {
  const at = position?.last !== undefined ? position.last : position?.first;
  if (at === undefined) return { head: headAndPending(migrations, null).head };
  return { known: true, current: at, ...headAndPending(migrations, at) };
}

function moveRow(unit: FleetUnit, migrations: Migration[], result: RunResult, direction: 'up' | 'down'): FleetRow {
  const moved = result.steps.length;
  const did = moved === 0 ? 'already there' : `${direction === 'up' ? 'applied' : 'reverted'} ${moved} (${result.from ?? 'base'} -> ${result.to ?? 'base'})`;
  return { ...emptyRow(unit), outcome: 'ok', known: true, current: result.to, ...headAndPending(migrations, result.to), did, moved };
}

function headAndPending(migrations: Migration[], current: string | null): Pick<FleetRow, 'head' | 'pending'> {
  const index = current === null ? -1 : migrations.findIndex((m) => storedId(m) === current || m.version === current);
  const head = migrations.length > 0 ? migrations[migrations.length - 1].version : null;
  return { head, pending: current !== null && index < 0 ? null : migrations.length - 1 - index };
}

export function emptyRow(unit: FleetUnit): FleetRow {
  return {
    target: unit.target, database: unit.database, outcome: 'not started', known: false, current: null, head: null,
    pending: null, problems: null, lastApplied: null, did: null, moved: null, error: null,
  };
}

export function failedRow(result: UnitResult<unknown>): FleetRow {
  const row = { ...emptyRow(result.unit), outcome: result.outcome };
  if (result.outcome === 'ok' || result.outcome === 'not started') return row;
  const error = result.error;
  const described = isDbvcError(error) ? { code: error.code, message: error.message, hint: error.hint } : { code: 'internal', message: String((error as Error)?.message ?? error) };
  return { ...row, error: described };
}

/** The rows sorted, and the exit code of the worst failure among `results` and the `verdicts` of those that ran. */
export function finish(results: UnitResult<unknown>[], rows: FleetRow[], verdicts: FailureKind[] = []): FleetReport {
  const kinds = results.flatMap((r) => (r.outcome === 'failed' || r.outcome === 'interrupted' ? [failureKind(r.error)] : []));
  return { rows: sortRows(rows), exitCode: worstExitCode([...kinds, ...verdicts]) };
}
