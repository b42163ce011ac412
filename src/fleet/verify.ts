// review, check and drift over a fleet. All three only read (a target's catalog, or a scratch database), so every
// database or target is visited whatever fails; one scratch server is held for the whole run, and review rehearses
// each distinct range once, for all the databases of a target that stand at the same revision.
import { check, type CheckResult } from '../authoring/dump.js';
import { drift, type DriftResult } from '../authoring/drift.js';
import { DbvcError } from '../core/errors.js';
import { verdictKind, type FailureKind } from '../core/fleet.js';
import type { FleetRow } from '../core/matrix.js';
import { storedId, type Migration } from '../core/plan.js';
import type { ReviewReport, Severity } from '../core/review.js';
import { readMigrations } from '../fs.js';
import { status, type ReadFiles } from '../inspect.js';
import { review } from '../review/index.js';
import { openScratch } from '../review/scratch.js';
import { emptyRow, failedRow, finish, fleetEach, type FleetOptions, type FleetReport } from './commands.js';
import { runFleet, type FleetPolicy, type UnitResult } from './run.js';
import type { Reporter } from '../api.js';
import type { FleetTarget, FleetUnit } from './targets.js';

export interface VerifyOptions extends FleetOptions {
  scratchUrl?: string; // without it, the embedded scratch server, started once for the run
  env: NodeJS.ProcessEnv;
  info(line: string): void; // the scratch server's own lines (started, stopped)
}

export interface ReviewFleetOptions extends VerifyOptions {
  range?: string; // FROM:TO, the same for every target: one review per target
  sinceGit?: string;
  failOn?: Severity;
}

/** One rehearsal, and the databases it stands for (none when the review was of a range, for the whole target). */
export interface FleetReview {
  target: string;
  databases: string[];
  report: ReviewReport;
}

export interface ReviewFleetReport extends FleetReport {
  reviews: FleetReview[]; // by target, then by where the range starts
}

/** check on every target (no database): one row per target, equal or differs. */
export async function fleetCheck(targets: FleetTarget[], options: VerifyOptions): Promise<FleetReport> {
  return verifyEach(targets, options, (unit, report) => check(unit.config, { scratchUrl: options.scratchUrl, report, env: options.env }), checkRow);
}

function checkRow(unit: FleetUnit, result: CheckResult): FleetRow {
  const verdict = result.exitCode === 0 ? 'equal' : 'differs';
  return { ...emptyRow(unit), outcome: 'ok', head: result.head, verdict, differences: result.differences.map((d) => d.message) };
}

/** drift on every database: its schema against what its recorded revision makes. Read-only on each database. */
export async function fleetDrift(targets: FleetTarget[], options: VerifyOptions): Promise<FleetReport> {
  return verifyEach(targets, options, (unit, report) => drift(unit.config, { scratchUrl: options.scratchUrl, report, env: options.env }), driftRow);
}

function driftRow(unit: FleetUnit, result: DriftResult): FleetRow {
  const verdict = result.exitCode === 0 ? 'none' : 'drift';
  return { ...emptyRow(unit), outcome: 'ok', known: true, current: result.revision, verdict, differences: result.differences.map((d) => d.message) };
}

/**
 * review over a fleet. With a range (or --since-git) one review per target. Without, what upgrade would apply to
 * each database: where each stands is read first (read-only, as status), then each distinct range of a target is
 * rehearsed once and its verdict given to every database that stands at its start; a database at head has
 * nothing to review.
 */
export async function fleetReview(targets: FleetTarget[], options: ReviewFleetOptions): Promise<ReviewFleetReport> {
  if (options.range !== undefined || options.sinceGit !== undefined) return reviewPerTarget(targets, options);
  const policy = readOnly(options.policy);
  const files = new Map<string, Promise<ReadFiles>>();
  for (const t of targets) {
    const read = readMigrations(t.config.migrationsDir, t.config.migrationsLabel);
    read.catch(() => undefined); // reported by each of the target's databases
    files.set(t.name, read);
  }
  const locate = (unit: FleetUnit, signal?: AbortSignal) => locateDatabase(unit, files.get(unit.target)!, options, signal);
  const located = await runFleet(unitsOf(targets), locate, policy, options.signal, options.events);
  const rehearsals = groupByStart(targets, located);
  const run = (unit: FleetUnit, signal?: AbortSignal) => {
    const { range } = rehearsals.find((r) => r.unit === unit)!;
    return review(unit.config, { range, failOn: options.failOn, scratchUrl: options.scratchUrl, report: options.reporterFor(unit), signal, env: options.env });
  };
  const reviewed = rehearsals.length === 0 ? [] : await holdScratch(targets, options, () => runFleet(rehearsals.map((r) => r.unit), run, policy, options.signal, options.events));
  const rows = located.map((r) => (r.outcome === 'ok' ? reviewRow(r.unit, r.value, rehearsals, reviewed) : failedRow(r)));
  const reviews = rehearsals.flatMap((r, i) => {
    const result = reviewed[i];
    return result.outcome === 'ok' ? [{ target: r.unit.target, databases: r.databases.map((u) => u.database), report: result.value.report }] : [];
  });
  return { ...finish([...located, ...reviewed], rows, verdictsOf(reviewed)), reviews };
}

interface Located {
  migrations: Migration[];
  current: string | null;
  index: number; // of the current revision in migrations; -1 at base
}

async function locateDatabase(unit: FleetUnit, files: Promise<ReadFiles>, options: VerifyOptions, signal?: AbortSignal): Promise<Located> {
  const read = await files;
  const report = await status(unit.config, { report: options.reporterFor(unit), signal }, read);
  const index = report.current === null ? -1 : read.migrations.findIndex((m) => storedId(m) === report.current);
  if (report.applied === null || (report.current !== null && index < 0)) {
    throw new DbvcError('state', `dbvc cannot tell which revision ${unit.database} is at, so it cannot tell what upgrade would apply`, {
      lines: report.problems.map((p) => p.message), hint: `run dbvc status --db ${unit.target}; or review a range for the whole target, e.g. dbvc review base:head --db ${unit.target}`,
    });
  }
  return { migrations: read.migrations, current: report.current, index };
}

/** The databases of one target that stand at the same revision below head, and the range they would be upgraded by. */
interface Rehearsal {
  unit: FleetUnit; // what the progress shows while it runs: the target's config, and the range as its name
  range: string;
  fromIndex: number;
  databases: FleetUnit[];
}

function groupByStart(targets: FleetTarget[], located: UnitResult<Located>[]): Rehearsal[] {
  const rehearsals: Rehearsal[] = [];
  for (const target of targets) {
    const starts = new Map<number, FleetUnit[]>();
    for (const r of located) {
      if (r.outcome !== 'ok' || r.unit.target !== target.name || r.value.index === r.value.migrations.length - 1) continue;
      starts.set(r.value.index, [...(starts.get(r.value.index) ?? []), r.unit]);
    }
    const migrations = located.find((r) => r.outcome === 'ok' && r.unit.target === target.name) as { value: Located } | undefined;
    for (const [fromIndex, databases] of [...starts].sort(([a], [b]) => a - b)) {
      const all = migrations!.value.migrations;
      const from = fromIndex < 0 ? 'base' : all[fromIndex].version;
      const to = all[all.length - 1].version;
      const label = `${from} -> ${to} (${databases.length} database${databases.length === 1 ? '' : 's'})`;
      rehearsals.push({ unit: { target: target.name, database: label, config: target.config }, range: `${from}:${to}`, fromIndex, databases });
    }
  }
  return rehearsals;
}

function reviewRow(unit: FleetUnit, at: Located, rehearsals: Rehearsal[], reviewed: UnitResult<{ report: ReviewReport }>[]): FleetRow {
  const head = at.migrations.length > 0 ? at.migrations[at.migrations.length - 1].version : null;
  const row: FleetRow = { ...emptyRow(unit), outcome: 'ok', known: true, current: at.current, head, pending: at.migrations.length - 1 - at.index };
  const index = rehearsals.findIndex((r) => r.databases.includes(unit));
  if (index < 0) return { ...row, verdict: 'at head', range: null, findings: null };
  const range = { from: at.index < 0 ? null : at.migrations[at.index].version, to: head };
  const result = reviewed[index];
  if (result.outcome !== 'ok') return { ...failedRow({ ...result, unit }), known: true, current: at.current, head, pending: row.pending, range };
  const report = result.value.report;
  const findings = report.migrations.reduce((sum, m) => sum + m.findings.length, 0);
  return { ...row, verdict: report.verdict, range: report.range, findings };
}

async function reviewPerTarget(targets: FleetTarget[], options: ReviewFleetOptions): Promise<ReviewFleetReport> {
  const work = (unit: FleetUnit, signal?: AbortSignal) => review(unit.config, {
    range: options.range, sinceGit: options.sinceGit, failOn: options.failOn, scratchUrl: options.scratchUrl, report: options.reporterFor(unit), signal, env: options.env,
  });
  const results = await holdScratch(targets, options, () => runFleet(unitsOf(targets), work, readOnly(options.policy), options.signal, options.events));
  const rows = results.map((r) => {
    if (r.outcome !== 'ok') return failedRow(r);
    const { report } = r.value;
    const findings = report.migrations.reduce((sum, m) => sum + m.findings.length, 0);
    return { ...emptyRow(r.unit), outcome: 'ok' as const, head: report.range.to, verdict: report.verdict, range: report.range, findings };
  });
  const reviews = results.flatMap((r) => (r.outcome === 'ok' ? [{ target: r.unit.target, databases: [], report: r.value.report }] : []));
  return { ...finish(results, rows, verdictsOf(results)), reviews };
}

/** The embedded scratch server, started once and held while `work` runs: each command joins it (review/scratch.ts). */
/** `work` on every unit through fleetEach, read-only, with one scratch server held; its own verdicts rank too. */
async function verifyEach<T extends { exitCode: number }>(targets: FleetTarget[], options: VerifyOptions, work: (unit: FleetUnit, report: Reporter) => Promise<T>, toRow: (unit: FleetUnit, value: T) => FleetRow): Promise<FleetReport> {
  const { results, rows } = await holdScratch(targets, options, () => fleetEach(targets, { ...options, policy: readOnly(options.policy) }, work, toRow));
  return finish(results, rows, verdictsOf(results));
}

async function holdScratch<T>(targets: FleetTarget[], options: VerifyOptions, work: () => Promise<T>): Promise<T> {
  if (options.scratchUrl !== undefined || targets.length === 0) return work();
  const held = await openScratch({ root: targets[0].config.root, env: options.env, onNotice: () => {}, onInfo: options.info });
  try {
    return await work();
  } finally {
    await held.close();
  }
}

function unitsOf(targets: FleetTarget[]): FleetUnit[] {
  return targets.flatMap((t) => t.units);
}

/** Read-only, so every database is visited whatever fails (as status). */
function readOnly(policy: FleetPolicy): FleetPolicy {
  return { ...policy, keepGoing: true, canary: 0 };
}

/** The failure kind each finished run's own exit code stands for (3: findings, differences, drift; 1: failed on scratch). */
function verdictsOf(results: UnitResult<{ exitCode: number }>[]): FailureKind[] {
  return results.flatMap((r) => {
    const kind = r.outcome === 'ok' ? verdictKind(r.value.exitCode) : null;
    return kind ? [kind] : [];
  });
}
