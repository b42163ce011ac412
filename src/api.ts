// The commands as typed functions that return data; they never print or exit (the CLI does that).
import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Config } from './config.js';
import type { Connection } from './connect.js';
import { VERSION } from './version.js';
import { DbvcError } from './core/errors.js';
import { listProblems, storedId, storedIdAt, locateDatabase, type DatabaseState, planDowngrade, planUpgrade, resolveRevision, resumeStep, type Failure, type Migration, type Plan, type Position, type Step } from './core/plan.js';
import { scanSql } from './core/lexer.js';
import { offlinePosition, renderFiles, resolveRange, type RenderedFile } from './core/render.js';
import { listMigrationNames, loadMigrations, readInput, writeFileAtomically, writeFolderAtomically, writeNewFile } from './fs.js';
import { runPlan, type NoticeRoute } from './runner.js';
import { acquireLock, ensureTables, schemaName, readHistory, readState, recordEvent, releaseLock, writeVersion, type Db, type HistoryEntry, type HistoryRow } from './store.js';

export { resolveConfig } from './config.js';
export { DbvcError, EXIT_CODES } from './core/errors.js';

export { VERSION } from './version.js';
export { review, type ReviewOptions, type ReviewResult, type ReviewReport } from './review/index.js';
export { renderReviewScript } from './review/script.js';

export interface Reporter {
  info(line: string): void;
  notice(message: string): void;
  stepStart?(step: Step): void;
  stepDone?(step: Step, ms: number): void;
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
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  return withLockedSession(config, options, `dbvc ${direction === 'up' ? 'upgrade' : 'downgrade'}`, async (db, notices) => {
    const state = await readState(db, config.schema, direction === 'down');
    const position = locateDatabase(migrations, state, config.migrationsLabel);
    if (position.isLost) refuseProblems(position.problems);
    const targetIndex = resolveRevision(target, migrations, position.index);
    let plan = direction === 'up'
      ? planUpgrade(migrations, position, targetIndex)
      : planDowngrade(migrations, position, targetIndex, state.recorded);
    const resolved = options.resume || options.restart ? findResolvedFailure(plan, position, direction) : undefined;
    refuseProblems(listProblems(position, migrations, resolved));
    if (resolved && options.resume) plan = { ...plan, steps: [resumeStep(plan.steps[0], resolved, splitStatements), ...plan.steps.slice(1)] };
    refuseSingleTransaction(plan, options);
    await adoptUnrecorded(db, config, migrations, position, state, options.report); // once nothing refused the run
    if (plan.steps.length > 0) await ensureTables(db, config.schema); // also adds columns a newer dbvc needs
    const context = { ...runContext(config), signal: options.signal, singleTransaction: options.singleTransaction, notices };
    const hooks = { onStepStart: options.report.stepStart, onStepDone: options.report.stepDone, onRetry: options.report.retry };
    const done = await runPlan(db, plan, { ...context, ...hooks });
    return { from: plan.from, to: plan.to, isHead: plan.toIndex === migrations.length - 1, steps: done.map((s) => ({ direction: s.direction, version: s.migration.version, name: s.migration.name, file: s.file })) };
  });
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
  const plan = direction === 'up' ? planUpgrade(migrations, position, toIndex) : planDowngrade(migrations, position, toIndex, new Map());
  const files = renderFiles(plan, { target: config.db, folder: config.migrationsLabel, schema: config.schema, dbvcVersion: VERSION, lockTimeoutMs: config.ddlLockTimeoutMs });
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

export interface StatusReport {
  target: string;
  server: string;
  current: string | null;
  currentStem: string | null;
  head: string | null;
  applied: number;
  pending: { version: string; name: string; file: string }[];
  problems: { code: string; message: string; hint?: string; lines: string[] }[];
}

/** Where the database stands, what is pending and what is wrong. Read-only; takes no lock. */
export async function status(config: Config, options: RunOptions): Promise<StatusReport> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  return withSession(config, options, 'dbvc status', async (db, connection) => {
    const position = locateDatabase(migrations, await readState(db, config.schema), config.migrationsLabel);
    const isKnown = !position.isLost;
    const pending = isKnown ? migrations.slice(position.index + 1) : [];
    return {
      target: config.db,
      server: connection.server,
      current: position.current,
      currentStem: isKnown && position.index >= 0 ? migrations[position.index].stem : null,
      head: migrations.length > 0 ? migrations[migrations.length - 1].version : null,
      applied: isKnown ? position.index + 1 : 0,
      pending: pending.map((m) => ({ version: m.version, name: m.name, file: m.up.path })),
      problems: listProblems(position, migrations).map((p) => ({ code: p.code, message: p.message, hint: p.hint, lines: p.lines })),
    };
  });
}

/** The current revision as stored in alembic_version (null at base). Read-only. */
export async function current(config: Config, options: RunOptions): Promise<{ current: string | null; isHead: boolean; stem: string | null }> {
  const report = await status(config, options);
  const isHead = report.problems.length === 0 && report.pending.length === 0;
  return { current: report.current, isHead, stem: report.currentStem };
}

/** Every dbvc_history row, oldest first. Read-only. */
export async function history(config: Config, options: RunOptions): Promise<HistoryRow[]> {
  return withSession(config, options, 'dbvc history', (db) => readHistory(db, config.schema));
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

/** Writes the next NNNN_name.up.sql / .down.sql pair; refuses names that would make an invalid file name. */
export async function revision(config: Config, name: string): Promise<{ up: string; down: string }> {
  const slug = name.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (!/^[a-z0-9_]+$/.test(slug) || /^_+$/.test(slug)) {
    throw new DbvcError('usage', `"${name}" cannot be used in a file name`, { hint: 'use letters, digits, spaces, - and _ (for example "add orders")' });
  }
  await mkdir(config.migrationsDir, { recursive: true });
  const existing = await listMigrationNames(config.migrationsDir, config.migrationsLabel);
  const highest = existing.length > 0 ? existing[existing.length - 1].number : 0n;
  const version = String(highest + 1n).padStart(4, '0');
  const stem = `${version}_${slug}`;
  const header = (direction: string) => `-- ${stem}: ${name.trim()} (${direction})\n-- Write the SQL below; dbvc runs this file in one transaction.\n\n`;
  const up = join(config.migrationsDir, `${stem}.up.sql`);
  const down = join(config.migrationsDir, `${stem}.down.sql`);
  await writeNewFile(up, header('upgrade'));
  await writeNewFile(down, header('downgrade'));
  return { up: `${config.migrationsLabel}/${stem}.up.sql`, down: `${config.migrationsLabel}/${stem}.down.sql` };
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

async function withSession<T>(config: Config, options: RunOptions, application: string, work: (db: Db, connection: Connection, notices: NoticeRoute) => Promise<T>): Promise<T> {
  const { openConnection } = await import('./connect.js'); // postgres.js loads only for commands that connect
  const notices: NoticeRoute = { show: options.report.notice };
  const connection = await openConnection(config, { onNotice: (message) => (notices.intercept ?? notices.show)(message), onInfo: options.report.info }, application);
  options.report.info(`target ${config.db}: ${connection.server} (URL from ${config.urlSource}), schema ${config.schema}`);
  try {
    return await work(connection.db, connection, notices);
  } finally {
    await connection.close();
  }
}

async function withLockedSession<T>(config: Config, options: RunOptions, application: string, work: (db: Db, notices: NoticeRoute) => Promise<T>): Promise<T> {
  return withSession(config, options, application, async (db, _connection, notices) => {
    await acquireLock(db, config.schema, config.lockTimeoutMs, options.signal);
    try {
      return await work(db, notices);
    } finally {
      await releaseLock(db, config.schema);
    }
  });
}
