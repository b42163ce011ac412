// The commands as typed functions that return data; they never print or exit (the CLI does that).
import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Config } from './config.js';
import { VERSION } from './version.js';
import { DbvcError } from './core/errors.js';
import { describeRecordedDown, withRecordedMigrations, listProblems, storedId, storedIdAt, locateDatabase, type DatabaseState, planDowngrade, planUpgrade, resolveRevision, resumeStep, type Failure, type Migration, type Plan, type Position, type Step } from './core/plan.js';
import { scanSql } from './core/lexer.js';
import { offlinePosition, renderFiles, resolveRange, type RenderedFile } from './core/render.js';
import { listMigrationNames, loadMigrations, readInput, writeFileAtomically, writeFolderAtomically, writeNewFile } from './fs.js';
import { explainDrift } from './filediff.js';
import { runPlan } from './runner.js';
import { withLockedSession, withSession } from './session.js';
import { ensureTables, schemaName, readRecordedTexts, readState, recordEvent, writeVersion, type Db, type HistoryEntry } from './store.js';

export { resolveConfig } from './config.js';
export { DbvcError, EXIT_CODES } from './core/errors.js';

export { VERSION } from './version.js';
export { renumber, type Renumbered } from './authoring/renumber.js';
export { check, dump, type CheckDifference, type CheckResult, type DumpOptions, type DumpResult } from './authoring/dump.js';
export { current, history, show, status, type MigrationDetail, type StatusReport } from './inspect.js';
export type { HistoryRow } from './store.js';
export { review, type ReviewOptions, type ReviewResult, type ReviewReport } from './review/index.js';
export { renderReviewScript } from './review/script.js';

const DIFF_LINES_IN_ERRORS = 12; // of a changed file's diff; dbvc show prints it whole

export interface Reporter {
  info(line: string): void;
  notice(message: string): void;
  stepStart?(step: Step): void;
  stepDone?(step: Step, ms: number): void;
  stepRan?(step: Step, ms: number): void; // --single-transaction: ran, commits with the whole run
  retry?(step: Step, attempt: number, pauseMs: number): void;
}

export interface RunOptions {
  report: Reporter;
  signal?: AbortSignal;
}

export interface MoveOptions extends RunOptions {
  singleTransaction?: boolean; // the whole plan in one transaction: all or nothing
  resume?: boolean; // continue a no-transaction migration that stopped part-way, from its failed statement
  restart?: boolean; // run such a migration again from its first statement (its effects were undone by hand)
  allowOutOfOrder?: boolean; // upgrade: also apply files below the current revision that never ran, recorded as such
}

export interface RunResult {
  from: string | null;
  to: string | null;
  isHead: boolean;
  steps: { direction: 'up' | 'down'; version: string; name: string; file: string }[];
}

/**
 * Applies migrations up to `target` (default head), each in its own transaction, under the migration lock.
 * Throws before running anything on malformed files, drift, an unknown revision or an impossible target;
 * a failing migration throws a 'sql' DbvcError after the earlier ones have committed.
 */
export async function upgrade(config: Config, target: string | undefined, options: MoveOptions): Promise<RunResult> {
  return moveDatabase(config, options, 'up', target ?? 'head');
}

/** Runs down files from the current revision to `target`; refuses before running anything if one is missing. */
export async function downgrade(config: Config, target: string, options: MoveOptions): Promise<RunResult> {
  return moveDatabase(config, options, 'down', target);
}

async function moveDatabase(config: Config, options: MoveOptions, direction: 'up' | 'down', target: string): Promise<RunResult> {
  let migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  return withLockedSession(config, options, `dbvc ${direction === 'up' ? 'upgrade' : 'downgrade'}`, async (db, notices, connection) => {
    const state = await readState(db, config.schema, direction === 'down');
    if (direction === 'down') migrations = await addRecordedMigrations(db, config, migrations, state);
    const position = locateDatabase(migrations, state, config.migrationsLabel);
    if (position.isLost) refuseProblems(position.problems);
    const targetIndex = resolveRevision(target, migrations, position.index);
    const isOutOfOrderAllowed = direction === 'up' && Boolean(options.allowOutOfOrder);
    let plan = direction === 'up'
      ? planUpgrade(migrations, position, targetIndex, isOutOfOrderAllowed)
      : planDowngrade(migrations, position, targetIndex, state.recorded);
    const resolved = options.resume || options.restart ? findResolvedFailure(plan, position, direction) : undefined;
    const problems = listProblems(position, migrations, resolved, isOutOfOrderAllowed);
    if (problems.length > 0) refuseProblems(explainDrift(problems, position.drifted, await readRecordedTexts(db, config.schema, position.drifted.map((m) => m.version)), DIFF_LINES_IN_ERRORS));
    if (resolved && options.resume) plan = { ...plan, steps: [resumeStep(plan.steps[0], resolved, splitStatements), ...plan.steps.slice(1)] };
    refuseSingleTransaction(plan, options);
    for (const step of plan.steps) {
      const said = describeRecordedDown(step);
      if (said) options.report.info(said);
    }
    await adoptUnrecorded(db, config, migrations, position, state, options.report); // once nothing refused the run
    if (plan.steps.length > 0) await ensureTables(db, config.schema); // also adds columns a newer dbvc needs
    const context = { ...runContext(config), signal: options.signal, singleTransaction: options.singleTransaction, notices, sessionSetup: connection.sessionSetup, completedBefore: connection.completedBefore };
    const hooks = { onStepStart: options.report.stepStart, onStepDone: options.report.stepDone, onStepRan: options.report.stepRan, onRetry: options.report.retry };
    const done = await runPlan(db, plan, { ...context, ...hooks });
    return { from: plan.from, to: plan.to, isHead: plan.toIndex === migrations.length - 1, steps: done.map((s) => ({ direction: s.direction, version: s.migration.version, name: s.migration.name, file: s.file })) };
  });
}

/**
 * A downgrade can take back revisions whose files this checkout lacks (a branch switch, a deleted pair) with the SQL
 * dbvc_history recorded; their down steps say so before anything runs (describeRecordedDown).
 */
async function addRecordedMigrations(db: Db, config: Config, migrations: Migration[], state: DatabaseState): Promise<Migration[]> {
  const known = new Set(migrations.map((m) => m.version));
  const missing = [...state.recorded.keys()].filter((v) => !known.has(v));
  if (missing.length === 0) return migrations;
  return withRecordedMigrations(migrations, state.recorded, await readRecordedTexts(db, config.schema, missing), config.migrationsLabel);
}

function refuseProblems(problems: DbvcError[]): void {
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    throw new DbvcError('state', `${problems.length} problems keep dbvc from moving the database`, {
      lines: problems.flatMap((p) => [p.message, ...p.lines.map((d) => `  ${d}`)]),
      hint: 'run dbvc status for the full picture; nothing was run',
    });
  }
}

/**
 * A database Alembic (or anything else) moved has applied migrations without history rows: record an 'adopted'
 * row for each, with the files' checksums and SQL as they are now, so drift checks and downgrades start here.
 * Runs once; says so once. Never re-runs anything.
 */
async function adoptUnrecorded(db: Db, config: Config, migrations: Migration[], position: Position, state: DatabaseState & { hasTables: boolean }, report: Reporter): Promise<void> {
  if (state.isMovedByDbvc) return; // an unrecorded file there is out of order, never adopted (listProblems)
  const applied = migrations.slice(0, position.index + 1);
  const unrecorded = applied.filter((m) => !state.recorded.has(m.version));
  if (unrecorded.length === 0) return;
  if (!state.hasTables) await ensureTables(db, config.schema);
  const context = runContext(config);
  await db.begin(async (tx) => {
    for (const [index, m] of applied.entries()) {
      if (state.recorded.has(m.version)) continue;
      const entry = { ...baseEntry(context, 'adopted', m), fromVersion: storedIdAt(migrations, index - 1), toVersion: storedId(m) };
      await recordEvent(tx, config.schema, entry);
    }
  });
  for (const m of unrecorded) {
    state.recorded.set(m.version, { version: m.version, event: 'adopted', upChecksum: m.up.checksum, downChecksum: m.down?.checksum ?? null, downSql: m.down?.text ?? null });
  }
  state.hasTables = true;
  const last = unrecorded[unrecorded.length - 1];
  report.info(`adopted ${unrecorded.length} migration${unrecorded.length === 1 ? '' : 's'} up to ${last.stem} that were applied without dbvc history (nothing was run); drift checks start from the files as they are now`);
}

/** The failure --resume / --restart resolves: the one recorded for the plan's first step. */
function findResolvedFailure(plan: Plan, position: Position, direction: 'up' | 'down'): Failure {
  const first = plan.steps[0];
  const failure = first && position.failures.find((f) => f.version === first.migration.version && f.toVersion === first.to);
  if (!failure) {
    throw new DbvcError('usage', `nothing to resume or restart: no no-transaction migration stopped part-way at the next ${direction === 'up' ? 'upgrade' : 'downgrade'} step`, {
      hint: 'dbvc status shows whether one did; without one, run the command without --resume / --restart',
    });
  }
  return failure;
}

function splitStatements(sql: string): string[] {
  return scanSql(sql).statements.map((s) => sql.slice(s.first, s.end).trim());
}

function refuseSingleTransaction(plan: Plan, options: MoveOptions): void {
  if (!options.singleTransaction) return;
  const bare = plan.steps.find((s) => s.noTransaction);
  if (bare) {
    throw new DbvcError('usage', `--single-transaction cannot include ${bare.file}: it asks for dbvc:no-transaction`, {
      file: bare.file,
      hint: `run up to the migration before it with --single-transaction, then the rest without; nothing was run`,
    });
  }
}

export interface OfflineScript {
  from: string | null;
  to: string | null;
  steps: number;
  files: RenderedFile[]; // one per migration, in execution order; joined they are the whole script
}

/**
 * Renders what `upgrade` / `downgrade` would run over `range` (FROM:TO, or for upgrade TO from base) as SQL for
 * psql, without any database connection. Throws the same errors an online plan would, before producing anything.
 */
export async function renderOffline(config: Config, direction: 'up' | 'down', range: string | undefined): Promise<OfflineScript> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  const { fromIndex, toIndex } = resolveRange(range, migrations, direction);
  const position = offlinePosition(migrations, fromIndex);
  const plan = direction === 'up' ? planUpgrade(migrations, position, toIndex) : planDowngrade(migrations, position, toIndex, new Map(), true);
  const files = renderFiles(plan, { target: config.db, folder: config.migrationsLabel, schema: config.schema, dbvcVersion: VERSION, lockTimeoutMs: config.ddlLockTimeoutMs,
    applied: migrations.slice(0, fromIndex + 1).map((m) => m.version) });
  return { from: plan.from, to: plan.to, steps: plan.steps.length, files };
}

/**
 * Saves a rendered script: `out` ending in / (or naming an existing folder) gets one file per migration,
 * anything else one file. Returns the paths written; writes everything or nothing.
 */
export async function saveOffline(script: OfflineScript, out: string, root: string): Promise<string[]> {
  const path = resolve(root, out);
  const isFolder = out.endsWith('/') || (await stat(path).then((s) => s.isDirectory(), () => false));
  const shown = (p: string) => (relative(root, p).startsWith('..') ? p : relative(root, p) || '.');
  if (isFolder) {
    await writeFolderAtomically(path, script.files, shown(path));
    return script.files.map((f) => shown(join(path, f.name)));
  }
  await writeFileAtomically(path, script.files.map((f) => f.text).join('\n'));
  return [shown(path)];
}

/**
 * Sets alembic_version to `target` without running any migration, recording a 'stamp' row per migration crossed.
 * `purge` first empties alembic_version: the way out of an unknown revision or Alembic branches.
 */
export async function stamp(config: Config, target: string, purge: boolean, options: RunOptions): Promise<{ from: string | null; to: string | null }> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  return withLockedSession(config, options, 'dbvc stamp', async (db) => {
    const state = await readState(db, config.schema);
    const position = locateDatabase(migrations, state, config.migrationsLabel);
    if (position.isLost && !purge) throw position.problems[0];
    const startIndex = purge ? -1 : position.index;
    const targetIndex = resolveRevision(target, migrations, startIndex);
    const to = targetIndex < 0 ? null : storedId(migrations[targetIndex]);
    await ensureTables(db, config.schema);
    const context = runContext(config);
    await db.begin(async (tx) => {
      if (purge) await tx`delete from ${schemaName(tx, config.schema)}.alembic_version`;
      await writeVersion(tx, config.schema, purge ? null : position.current, to);
      for (const entry of stampEntries(migrations, startIndex, targetIndex, context)) await recordEvent(tx, config.schema, entry);
    });
    return { from: position.current, to };
  });
}

function stampEntries(migrations: Migration[], fromIndex: number, toIndex: number, context: ReturnType<typeof runContext>): HistoryEntry[] {
  const isUp = toIndex > fromIndex;
  const entries: HistoryEntry[] = [];
  const step = isUp ? 1 : -1;
  for (let i = isUp ? fromIndex + 1 : fromIndex; isUp ? i <= toIndex : i > toIndex; i += step) {
    const m = migrations[i];
    entries.push({
      ...baseEntry(context, 'stamp', m),
      fromVersion: storedIdAt(migrations, isUp ? i - 1 : i),
      toVersion: storedIdAt(migrations, isUp ? i : i - 1),
      upChecksum: isUp ? m.up.checksum : null,
      upSql: isUp ? m.up.text : null,
    });
  }
  return entries;
}

/**
 * Accepts the current text of every applied up file that changed (drift), recording a 'repair' row per file with
 * the new checksum. Returns the files accepted; nothing else moves.
 */
export async function repair(config: Config, options: RunOptions): Promise<{ repaired: { file: string; was: string; now: string }[] }> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  return withLockedSession(config, options, 'dbvc repair', async (db) => {
    const state = await readState(db, config.schema);
    const position = locateDatabase(migrations, state, config.migrationsLabel);
    if (position.isLost) throw position.problems[0];
    const context = runContext(config);
    const repaired = position.drifted.map((m) => ({ file: m.up.path, was: state.recorded.get(m.version)!.upChecksum, now: m.up.checksum }));
    await db.begin(async (tx) => {
      for (const m of position.drifted) {
        const was = state.recorded.get(m.version)!.upChecksum;
        await recordEvent(tx, config.schema, { ...baseEntry(context, 'repair', m), note: `accepted the changed file; was ${was}` });
      }
    });
    return { repaired };
  });
}

/**
 * Writes the next NNNN_slug.up.sql / .down.sql pair. Any name is turned into a safe file name (see slugify); one with
 * nothing left to name a file by (no letter or digit at all) is a 'usage' DbvcError.
 */
export async function revision(config: Config, name: string): Promise<{ up: string; down: string }> {
  const slug = slugify(name);
  if (slug === '') {
    throw new DbvcError('usage', `"${name}" has no letter or digit to name a file by`, { hint: 'describe the change in a few words, for example "add orders"' });
  }
  await mkdir(config.migrationsDir, { recursive: true });
  const existing = await listMigrationNames(config.migrationsDir, config.migrationsLabel);
  const highest = existing.length > 0 ? existing[existing.length - 1].number : 0n;
  const version = String(highest + 1n).padStart(4, '0');
  const stem = `${version}_${slug}`;
  const title = name.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim(); // one comment line, whatever the name holds
  const header = (direction: string) => `-- ${stem}: ${title} (${direction})\n-- Write the SQL below; dbvc runs this file in one transaction.\n\n`;
  const up = join(config.migrationsDir, `${stem}.up.sql`);
  const down = join(config.migrationsDir, `${stem}.down.sql`);
  await writeNewFile(up, header('upgrade'));
  await writeNewFile(down, header('downgrade'));
  return { up: `${config.migrationsLabel}/${stem}.up.sql`, down: `${config.migrationsLabel}/${stem}.down.sql` };
}

const LETTERS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', þ: 'th' }; // no NFKD form
const SLUG_MAX = 60; // characters of name after NNNN_: file names stay well under the 255-byte limit

/** "Naïve café: drop table; --" -> "naive_cafe_drop_table": accents dropped, other runs of anything but a-z0-9 -> _. */
export function slugify(name: string): string {
  const folded = name.toLowerCase().replace(/[ßæœøłđþ]/g, (ch) => LETTERS[ch]);
  const ascii = folded.normalize('NFKD').replace(/\p{M}+/gu, '');
  return ascii.replace(/[^a-z0-9]+/g, '_').replace(/^_+/, '').slice(0, SLUG_MAX).replace(/_+$/, '');
}

/**
 * dbvc import-alembic: reads the scripts `alembic upgrade base:head --sql` and `alembic downgrade head:base --sql`
 * printed (file paths, or - for standard input) and writes one SQL pair per Alembic revision, all or none.
 */
export async function importAlembicScripts(config: Config, upgradePath: string, downgradePath: string | undefined): Promise<{ written: string[]; warnings: string[] }> {
  if (upgradePath === '-' && downgradePath === '-') {
    throw new DbvcError('usage', 'only one of the two scripts can come from standard input', { hint: 'save the other to a file first' });
  }
  const upgradeScript = await readInput(upgradePath, config.root);
  const downgradeScript = downgradePath === undefined ? undefined : await readInput(downgradePath, config.root);
  const { importAlembic } = await import('./alembic.js');
  return importAlembic(config, { upgradeScript, downgradeScript });
}

function runContext(config: Config) {
  return {
    schema: config.schema, runId: randomUUID(), clientHost: hostname(), dbvcVersion: VERSION,
    ddlLockTimeoutMs: config.ddlLockTimeoutMs, ddlLockRetries: config.ddlLockRetries,
  };
}

function baseEntry(context: ReturnType<typeof runContext>, event: HistoryEntry['event'], m: Migration): HistoryEntry {
  return {
    runId: context.runId, event, version: m.version, name: m.name, fromVersion: null, toVersion: null,
    upChecksum: m.up.checksum, downChecksum: m.down?.checksum ?? null, upSql: m.up.text, downSql: m.down?.text ?? null,
    clientHost: context.clientHost, durationMs: null, dbvcVersion: context.dbvcVersion, note: null,
  };
}
