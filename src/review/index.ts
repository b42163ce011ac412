// dbvc review: rehearse the migrations under review on a scratch database (up, down, up again), trace and lint them,
// and return the report (issue 14's JSON contract). Never writes to the target.
import { join } from 'node:path';
import type { Reporter } from '../api.js';
import type { Config } from '../config.js';
import { DbvcError } from '../core/errors.js';
import { decideVerdict, exitCodeOf, missingDownFinding, refineTypeChanges, traceFindings } from '../core/findings.js';
import { locateDatabase, type Migration } from '../core/plan.js';
import { resolveRange } from '../core/render.js';
import type { DownTrace, Finding, MigrationReview, ReviewReport, RunTrace, Severity } from '../core/review.js';
import { compareSnapshots, type Snapshot } from '../core/snapshot.js';
import { loadMigrations } from '../fs.js';
import type { Db } from '../store.js';
import { rangeSinceGit, readGitCommit } from './git.js';
import { lintFiles } from './lint.js';
import { openScratch, type ScratchDatabase } from './scratch.js';
import { cacheSnapshot, readCachedSnapshot, readSnapshot, snapshotPath } from './snapshot.js';
import { traceFile } from './trace.js';

export type { ReviewReport } from '../core/review.js';

export interface ReviewOptions {
  range?: string; // FROM:TO as for upgrade --sql; without it, what upgrade would apply to the target
  sinceGit?: string; // instead of a range: the migrations whose files changed since this git commit
  scratchUrl?: string;
  failOn?: Severity; // default error
  report: Reporter;
  signal?: AbortSignal; // Ctrl-C: stop before the next migration; the scratch database is dropped all the same
  env?: NodeJS.ProcessEnv;
}

export interface ReviewResult {
  report: ReviewReport;
  exitCode: number; // 0 ok, 3 findings (or a down that does not revert), 1 failed on the scratch database
  warm: boolean; // the scratch database came from an existing template
}

/**
 * Reviews a range of migrations. With no range it reads the target's alembic_version (read-only: no lock, no
 * write). Throws a 'connect' DbvcError (exit 5) when the scratch server cannot be started or reached, a 'lint'
 * one when squawk cannot run, and the usual file / usage errors before anything runs.
 */
export async function review(config: Config, options: ReviewOptions): Promise<ReviewResult> {
  // The scratch server starts while the files are read: a file or usage error still wins, and stops it.
  const opening = openScratch({ root: config.root, url: options.scratchUrl, env: options.env ?? {}, onNotice: () => {}, onInfo: options.report.info });
  opening.catch(() => undefined); // awaited below, or closed when the files fail
  let migrations: Migration[];
  let range: { fromIndex: number; toIndex: number };
  try {
    migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
    range = await resolveReviewed(config, migrations, options);
  } catch (error) {
    await opening.then((scratch) => scratch.close(), () => undefined);
    throw error;
  }
  const { fromIndex, toIndex } = range;
  const reviewed = migrations.slice(fromIndex + 1, toIndex + 1);
  const scratch = await opening;
  try {
    options.report.info(`scratch: ${scratch.display}, PostgreSQL ${scratch.serverVersion}`);
    const linting = lintFiles(reviewed.flatMap(lintTargets), { root: config.root, pgVersion: scratch.serverVersion, setsLockTimeout: config.ddlLockTimeoutMs !== undefined });
    linting.catch(() => undefined); // awaited below; a rehearsal failure must not leave it unhandled
    const database = reviewed.length > 0 ? await scratch.prepare(migrations.slice(0, fromIndex + 1), { makeSpare: true, signal: options.signal }) : undefined;
    let results: MigrationReview[] = [];
    try {
      if (database) results = await rehearseAll(database, reviewed, config.schema, options.signal, startingSnapshot(database, config));
    } finally {
      await database?.drop();
    }
    const lint = await linting;
    results.forEach((m, i) => (m.findings = mergeFindings(m, reviewed[i], lint)));
    const verdict = decideVerdict(results, options.failOn ?? 'error');
    const warm = database?.isWarm ?? false;
    const report: ReviewReport = {
      range: { from: versionAt(migrations, fromIndex), to: versionAt(migrations, toIndex) }, target: config.db,
      scratch: { server_version: scratch.serverVersion, embedded: scratch.isEmbedded, warm },
      verdict, made_at: new Date().toISOString(), git_commit: await readGitCommit(config.root), migrations: results,
    };
    return { report, exitCode: exitCodeOf(verdict), warm };
  } finally {
    await scratch.close();
  }
}

function versionAt(migrations: Migration[], index: number): string | null {
  return index < 0 ? null : migrations[index].version;
}

async function resolveReviewed(config: Config, migrations: Migration[], options: ReviewOptions): Promise<{ fromIndex: number; toIndex: number }> {
  if (options.sinceGit !== undefined) {
    const range = await rangeSinceGit(config.migrationsDir, options.sinceGit, migrations);
    options.report.info(range ? `changed since ${options.sinceGit}: ${range}` : `no migration changed since ${options.sinceGit}`);
    if (!range) return { fromIndex: migrations.length - 1, toIndex: migrations.length - 1 };
    return resolveRange(range, migrations, 'up');
  }
  if (options.range !== undefined) return resolveRange(options.range, migrations, 'up');
  return { fromIndex: await readTargetIndex(config, migrations, options.report), toIndex: migrations.length - 1 };
}

/** The target's current revision, read as status does: one session, no lock, nothing written. */
async function readTargetIndex(config: Config, migrations: Migration[], report: Reporter): Promise<number> {
  const { openConnection } = await import('../connect.js');
  const { readState } = await import('../store.js');
  let isSaid = false;
  const onTarget = (server: string) => {
    if (!isSaid) report.info(`target ${config.db}: ${server} (read-only: its current revision)`);
    isSaid = true;
  };
  const connection = await openConnection(config, { onNotice: report.notice, onInfo: report.info, onTarget }, 'dbvc review');
  try {
    const position = locateDatabase(migrations, await readState(connection.db, config.schema), config.migrationsLabel);
    if (position.isLost) {
      throw new DbvcError('state', `dbvc cannot tell which revision ${config.db} is at, so it cannot tell what upgrade would apply`, {
        lines: position.problems.map((p) => p.message), hint: 'run dbvc status; or review a range without a target, e.g. dbvc review 0041:head',
      });
    }
    return position.index;
  } finally {
    await connection.close();
  }
}

function lintTargets(m: Migration) {
  const files = [{ path: m.up.path, noTransaction: m.up.noTransaction }];
  if (m.down) files.push({ path: m.down.path, noTransaction: m.down.noTransaction });
  return files;
}

// The schema the first reviewed migration starts from is its template's: read once from a copy, then kept on disk
// under the template instance's name (a copy of it has the same catalogs), and read from there.
function startingSnapshot(database: ScratchDatabase, config: Config): () => Promise<Snapshot> {
  const read = () => readSnapshot(database.db, config.schema);
  if (!database.origin) return read;
  const path = snapshotPath(join(config.root, '.dbvc', 'scratch-snapshots'), database.origin, config.schema);
  return async () => {
    const cached = await readCachedSnapshot(path);
    if (cached) return cached;
    const snapshot = await read();
    await cacheSnapshot(path, snapshot);
    return snapshot;
  };
}

// Each migration starts where the previous one's up left the scratch database; once that state is unknown
// (a failure), the rest are listed as not rehearsed rather than rehearsed on the wrong schema.
async function rehearseAll(db: Sessions, reviewed: Migration[], schema: string, signal: AbortSignal | undefined, starting: () => Promise<Snapshot>): Promise<MigrationReview[]> {
  const results: MigrationReview[] = [];
  let stopped: string | undefined;
  for (const [i, migration] of reviewed.entries()) {
    if (signal?.aborted) throw new DbvcError('interrupted', `review interrupted before ${migration.up.path}`, { hint: 'nothing was written to the target; the scratch database is dropped' });
    if (stopped) {
      results.push(notRehearsed(migration, stopped));
      continue;
    }
    const result = await rehearse(db, migration, schema, i === 0 ? starting : undefined);
    results.push(result);
    const isUnknown = result.up.error !== null || result.reapply.error !== null || (result.down.error !== null && !result.transaction);
    if (isUnknown) stopped = `not rehearsed: ${migration.version} failed on the scratch database before it`;
  }
  return results;
}

/** up (traced), snapshot, down (traced), snapshot compared with the one before the up, up again. */
async function rehearse(sessions: Sessions, m: Migration, schema: string, starting?: () => Promise<Snapshot>): Promise<MigrationReview> {
  const { db, observer } = sessions;
  const review = blankReview(m);
  const before = starting ? await starting() : await readSnapshot(db, schema);
  review.up = await traceFile(db, { file: m.up.path, text: m.up.text, noTransaction: m.up.noTransaction }, observer);
  if (!review.up.ok) return skipAfterUp(review, 'the up failed');
  const after = await readSnapshot(db, schema);
  review.changes = compareSnapshots(before, after);
  if (!m.down) return skipAfterUp(review, 'no down file');
  review.down = { ...(await traceFile(db, { file: m.down.path, text: m.down.text, noTransaction: m.down.noTransaction }, observer)), file: m.down.path, reverts: null, differences: [] };
  if (!review.down.ok) {
    review.reapply = { ok: false, error: null, skipped: 'the down failed' };
    return review;
  }
  review.down.differences = compareSnapshots(before, await readSnapshot(db, schema));
  review.down.reverts = review.down.differences.length === 0;
  const again = await traceFile(db, { file: m.up.path, text: m.up.text, noTransaction: m.up.noTransaction }, observer);
  review.reapply = { ok: again.ok, error: again.error };
  return review;
}

interface Sessions {
  db: Db;
  observer: Db;
}

function blankReview(m: Migration): MigrationReview {
  const notRun: RunTrace = { ok: false, error: null, statements: [], skipped: 'not run' };
  const down: DownTrace = { ...notRun, file: m.down?.path ?? null, reverts: null, differences: [] };
  return {
    version: m.version, name: m.name, file: m.up.path, transaction: !m.up.noTransaction,
    up: notRun, changes: [], down, reapply: { ok: false, error: null, skipped: 'not run' }, findings: [],
    up_sql: m.up.text, down_sql: m.down?.text ?? null,
  };
}

function skipAfterUp(review: MigrationReview, reason: string): MigrationReview {
  review.down = { ...review.down, skipped: reason };
  review.reapply = { ok: false, error: null, skipped: reason };
  return review;
}

function notRehearsed(m: Migration, reason: string): MigrationReview {
  return { ...blankReview(m), skipped: reason };
}

function mergeFindings(m: MigrationReview, migration: Migration, lint: Finding[]): Finding[] {
  const up = { file: m.file, transaction: m.transaction, trace: m.up };
  const down = migration.down ? { file: migration.down.path, transaction: !migration.down.noTransaction, trace: m.down } : undefined;
  let findings = lint.filter((f) => f.file === m.file || f.file === m.down.file);
  findings = refineTypeChanges(findings, up);
  if (down) findings = refineTypeChanges(findings, down);
  findings.push(...traceFindings(up));
  if (down) findings.push(...traceFindings(down));
  if (!m.down.file) findings.push(missingDownFinding(m.file));
  return findings.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file === m.file ? -1 : 1));
}
