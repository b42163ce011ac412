// A fleet command as the CLI runs it: options -> targets -> bounded runs -> the matrix, written through the log.
import type { Flags } from '../config.js';
import { DbvcError, EXIT_CODES } from '../core/errors.js';
import { formatMatrix, type FleetRow } from '../core/matrix.js';
import type { Log } from '../log.js';
import { fleetMove, fleetStatus, type FleetOptions } from './commands.js';
import { DEFAULT_POLICY, type FleetPolicy } from './run.js';
import { expandFleet, type FleetUnit } from './targets.js';

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

export type FleetCommand = { kind: 'status' | 'current' } | { kind: 'move'; direction: 'up' | 'down'; revision: string; move: { singleTransaction: boolean; resume: boolean; restart: boolean; allowOutOfOrder: boolean } };

/** True when an option asks for a fleet run (a single target whose env file lists its databases is one too). */
export function wantsFleet(o: FleetCliOptions): boolean {
  return Boolean(o.all) || Boolean(o.db?.includes(',')) || o['urls-file'] !== undefined || o.parallel !== undefined || Boolean(o['keep-going']) || o.canary !== undefined;
}

/** Runs the command on every database of the fleet, prints the matrix (or its rows as JSON) and returns the exit code. */
export async function runFleetCommand(log: Log, o: FleetCliOptions, flags: Flags, signal: AbortSignal, command: FleetCommand, root = process.cwd()): Promise<number> {
  const policy = readPolicy(o);
  const targets = expandFleet({ ...flags, db: o.all ? undefined : flags.db, all: o.all, urlsFile: o['urls-file'] }, process.env, root);
  const units = targets.flatMap((t) => t.units);
  log.info(`fleet: ${units.length} database${units.length === 1 ? '' : 's'} in ${targets.map((t) => `${t.name} (${t.units.length})`).join(', ')}; ${policy.parallel} at once${policy.canary > 0 ? `, ${policy.canary} canary first` : ''}${policy.keepGoing ? ', keep going after failures' : ''}`);
  const options = fleetOptions(log, policy, signal);
  const report = command.kind === 'move'
    ? await fleetMove(targets, command.direction, command.revision, { ...options, ...command.move })
    : await fleetStatus(targets, options);
  if (o.json) log.json(report.rows);
  else for (const line of formatMatrix(report.rows, command.kind === 'move' ? 'move' : 'status')) log.result(line);
  if (report.exitCode !== 0) return report.exitCode;
  // as for one database: current names no revision alembic_version does not hold, and says so with exit 3
  if (command.kind === 'current' && report.rows.some((r) => !r.known)) return EXIT_CODES.state;
  return command.kind === 'status' && o['exit-code'] && report.rows.some(isBehind) ? EXIT_CODES.check : 0;
}

function isBehind(row: FleetRow): boolean {
  return row.pending !== 0 || row.problems !== 0;
}

/** Each database's lines start with its target and host/database; failures are printed whole as they happen. */
function fleetOptions(log: Log, policy: FleetPolicy, signal: AbortSignal): FleetOptions {
  const reporters = new Map<FleetUnit, ReturnType<Log['prefixed']>>();
  const reporterFor = (unit: FleetUnit) => {
    if (!reporters.has(unit)) reporters.set(unit, log.prefixed(`${unit.target} ${unit.database}`));
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
