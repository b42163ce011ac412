// A fleet command as the CLI runs it: options -> targets -> bounded runs -> the matrix, written through the log.
import type { Flags } from '../config.js';
import { DbvcError, EXIT_CODES } from '../core/errors.js';
import { formatMatrix, WHOLE_TARGET, type FleetRow, type MatrixKind } from '../core/matrix.js';
import type { Severity } from '../core/review.js';
import { printReview, type Log } from '../log.js';
import { fleetMove, fleetStatus, type FleetOptions, type FleetReport } from './commands.js';
import { isLiveTerminal, startLive } from './live.js';
import { DEFAULT_POLICY, type FleetPolicy } from './run.js';
import { expandFleet, type FleetTarget, type FleetUnit } from './targets.js';
import type { FleetReview } from './verify.js';

export interface FleetCliOptions {
  db?: string;
  all?: boolean;
  'urls-file'?: string;
  parallel?: string;
  'keep-going'?: boolean;
  canary?: string;
  json?: boolean;
  'exit-code'?: boolean;
}

export type FleetCommand =
  | { kind: 'status' | 'current' }
  | { kind: 'move'; direction: 'up' | 'down'; revision: string; move: { singleTransaction: boolean; resume: boolean; restart: boolean; allowOutOfOrder: boolean } }
  | { kind: 'check' | 'drift'; scratchUrl?: string }
  // oneTargetOnly: an option in use that writes one target's review (--html, --sql), refused for a fleet
  | { kind: 'review'; scratchUrl?: string; range?: string; sinceGit?: string; failOn: Severity; oneTargetOnly?: string };

/** Whether the command acts on databases (check, and review of a range, act on each target's files alone). */
export function needsDatabases(command: FleetCommand): boolean {
  if (command.kind === 'check') return false;
  return command.kind !== 'review' || (command.range === undefined && command.sinceGit === undefined);
}

/** True when an option asks for a fleet run (a single target whose env file lists its databases is one too). */
export function wantsFleet(o: FleetCliOptions): boolean {
  return Boolean(o.all) || Boolean(o.db?.includes(',')) || o['urls-file'] !== undefined || o.parallel !== undefined || Boolean(o['keep-going']) || o.canary !== undefined;
}

/** Runs the command on every database of the fleet, prints the matrix (or its rows as JSON) and returns the exit code. */
export async function runFleetCommand(log: Log, o: FleetCliOptions, flags: Flags, signal: AbortSignal, command: FleetCommand, root = process.cwd()): Promise<number> {
  const policy = readPolicy(o);
  if (command.kind === 'review' && command.oneTargetOnly) {
    throw new DbvcError('usage', `${command.oneTargetOnly} writes the review of one target, and this is a fleet run`, { hint: `run it per target: dbvc review ${command.oneTargetOnly} ... --db NAME, with a RANGE when the target lists many databases` });
  }
  const perDatabase = needsDatabases(command);
  const targets = expandFleet({ ...flags, db: o.all ? undefined : flags.db, all: o.all, urlsFile: perDatabase ? o['urls-file'] : undefined }, process.env, root, perDatabase);
  const units = targets.flatMap((t) => t.units);
  const what = perDatabase ? `${units.length} database${units.length === 1 ? '' : 's'} in ${targets.map((t) => `${t.name} (${t.units.length})`).join(', ')}` : `${targets.length} target${targets.length === 1 ? '' : 's'} (${targets.map((t) => t.name).join(', ')})`;
  log.info(`fleet: ${what}; ${policy.parallel} at once${policy.canary > 0 ? `, ${policy.canary} canary first` : ''}${policy.keepGoing ? ', keep going after failures' : ''}`);
  const live = isLiveTerminal(process.stderr, process.env) ? startLive(process.stderr, log, units, unitLabel) : undefined;
  const options = live ? { policy, signal, reporterFor: live.reporterFor, events: live.events } : fleetOptions(log, policy, signal);
  let report: FleetReport & { reviews?: FleetReview[] };
  try {
    report = await runCommand(log, targets, options, command);
  } finally {
    live?.stop();
  }
  if (command.kind === 'review' || command.kind === 'check' || command.kind === 'drift') return printVerdicts(log, o, report, command);
  if (o.json) log.json(report.rows);
  else for (const line of formatMatrix(report.rows, command.kind === 'move' ? 'move' : 'status')) log.result(line);
  if (report.exitCode !== 0) return report.exitCode;
  // as for one database: current names no revision alembic_version does not hold, and says so with exit 3
  if (command.kind === 'current' && report.rows.some((r) => !r.known)) return EXIT_CODES.state;
  return command.kind === 'status' && o['exit-code'] && report.rows.some(isBehind) ? EXIT_CODES.check : 0;
}

async function runCommand(log: Log, targets: FleetTarget[], options: FleetOptions, command: FleetCommand): Promise<FleetReport & { reviews?: FleetReview[] }> {
  if (command.kind === 'move') return fleetMove(targets, command.direction, command.revision, { ...options, ...command.move });
  if (command.kind !== 'check' && command.kind !== 'drift' && command.kind !== 'review') return fleetStatus(targets, options);
  const { fleetCheck, fleetDrift, fleetReview } = await import('./verify.js');
  const verify = { ...options, scratchUrl: command.scratchUrl, env: process.env, info: log.info };
  if (command.kind === 'review') return fleetReview(targets, { ...verify, range: command.range, sinceGit: command.sinceGit, failOn: command.failOn });
  return command.kind === 'check' ? fleetCheck(targets, verify) : fleetDrift(targets, verify);
}

/**
 * review, check or drift: the details first (each rehearsal's review, each difference), then the matrix; --json gives
 * the rows (review: { rows, reviews }). The exit code is that of the worst failure or verdict.
 */
function printVerdicts(log: Log, o: FleetCliOptions, report: FleetReport & { reviews?: FleetReview[] }, command: Extract<FleetCommand, { kind: 'review' | 'check' | 'drift' }>): number {
  if (command.kind !== 'review') {
    if (o.json) log.json(report.rows);
    else printMatrix(log, report.rows, command.kind, true);
    return report.exitCode;
  }
  if (o.json) {
    log.json({ rows: report.rows, reviews: report.reviews });
    return report.exitCode;
  }
  for (const r of report.reviews ?? []) {
    const shown = r.databases.length > 3 ? `${r.databases.slice(0, 3).join(', ')} and ${r.databases.length - 3} more` : r.databases.join(', ');
    log.result(log.colors.bold(r.databases.length === 0 ? `${r.target}:` : `${r.target}, for ${r.databases.length} database${r.databases.length === 1 ? '' : 's'} (${shown}):`));
    printReview(log, r.report, command.failOn);
    log.result('');
  }
  printMatrix(log, report.rows, 'review', false);
  return report.exitCode;
}

function printMatrix(log: Log, rows: FleetRow[], kind: MatrixKind, withDifferences: boolean): void {
  for (const row of withDifferences ? rows : []) {
    for (const difference of row.differences ?? []) log.result(`${row.target}${row.database === WHOLE_TARGET ? '' : ` ${row.database}`}: ${difference}`);
  }
  if (withDifferences && rows.some((r) => (r.differences?.length ?? 0) > 0)) log.result('');
  for (const line of formatMatrix(rows, kind)) log.result(line);
}

function isBehind(row: FleetRow): boolean {
  return row.pending !== 0 || row.problems !== 0;
}

/** Each database's lines start with its target and host/database; failures are printed whole as they happen. */
function fleetOptions(log: Log, policy: FleetPolicy, signal: AbortSignal): FleetOptions {
  const reporters = new Map<FleetUnit, ReturnType<Log['prefixed']>>();
  const reporterFor = (unit: FleetUnit) => {
    if (!reporters.has(unit)) reporters.set(unit, log.prefixed(unitLabel(unit)));
    return reporters.get(unit)!;
  };
  const events = {
    finished(unit: FleetUnit, outcome: string, error?: unknown) {
      if (error === undefined) return reporterFor(unit).info(outcome === 'ok' ? 'done' : outcome);
      reporterFor(unit).error(error);
    },
  };
  return { policy, signal, reporterFor, events };
}

/** How progress names a unit: target and database, or the target alone when the unit is the whole target. */
export function unitLabel(unit: FleetUnit): string {
  return unit.database === WHOLE_TARGET ? unit.target : `${unit.target} ${unit.database}`;
}

function readPolicy(o: FleetCliOptions): FleetPolicy {
  return {
    parallel: o.parallel === undefined ? DEFAULT_POLICY.parallel : wholeNumber(o.parallel, '--parallel', 1),
    keepGoing: Boolean(o['keep-going']),
    canary: o.canary === undefined ? 0 : wholeNumber(o.canary, '--canary', 0),
  };
}

function wholeNumber(text: string, flag: string, least: number): number {
  const value = /^\d{1,6}$/.test(String(text)) ? Number(text) : NaN;
  if (!(value >= least)) throw new DbvcError('usage', `${flag} "${text}" is not a whole number${least > 0 ? ` from ${least}` : ''}`, { hint: `for example ${flag} 4` });
  return value;
}
