// The read-only commands: status, current, history and show. They never write, take no lock, and show what they
// can even when a file is unfinished or malformed (only the commands that move the database refuse then).
import type { Config } from './config.js';
import { DbvcError } from './core/errors.js';
import { listProblems, locateDatabase, resolveRevision, type Migration, type Position } from './core/plan.js';
import { listMigrationStates, type MigrationRow } from './core/status.js';
import { diffLines, explainDrift, isCosmeticChange } from './filediff.js';
import { readMigrations } from './fs.js';
import { withSession, withSessionOverlapped, type SessionOptions } from './session.js';
import type { Connection } from './connect.js';
import type { DatabaseState } from './core/plan.js';
import { readHistory, readRecordedTexts, readState, type Db, type HistoryRow } from './store.js';

export interface StatusReport {
  target: string;
  server: string;
  current: string | null;
  currentStem: string | null;
  head: string | null;
  applied: number | null; // null when alembic_version holds no known revision (see problems)
  pending: { version: string; name: string; file: string }[];
  migrations: MigrationRow[];
  problems: { code: string; message: string; hint?: string; lines: string[] }[];
}

/** What readMigrations returned: a fleet reads a target's files once and passes them to status for each database. */
export type ReadFiles = Awaited<ReturnType<typeof readMigrations>>;

const DIFF_LINES_SHOWN = 12; // of a changed file's diff in status and errors; dbvc show prints it whole

/** Where the database stands, every migration's state, what is pending and every problem. Read-only; takes no lock. */
export async function status(config: Config, options: SessionOptions, files?: ReadFiles): Promise<StatusReport> {
  const overlap = {
    files: async () => files ?? readMigrations(config.migrationsDir, config.migrationsLabel),
    state: (db: Db, connection: Connection) => readState(db, config.schema, false, connection.ledger),
  };
  return withSessionOverlapped(config, options, 'dbvc status', overlap, async ({ migrations, problems: fileProblems }, state, db, connection) => {
    const { position, rows, problems } = await inspectDatabase(db, config, migrations, DIFF_LINES_SHOWN, state);
    const isKnown = !position.isLost;
    return {
      target: config.db,
      server: connection.server,
      current: position.current,
      currentStem: isKnown && position.index >= 0 ? migrations[position.index].stem : null,
      head: migrations.length > 0 ? migrations[migrations.length - 1].version : null,
      applied: isKnown ? rows.filter((r) => r.state === 'applied' || r.state === 'changed').length : null,
      pending: rows.filter((r) => r.state === 'pending').map((r) => ({ version: r.version, name: r.name!, file: r.file! })),
      migrations: rows,
      problems: [...fileProblems, ...problems].map((p) => ({ code: p.code, message: p.message, hint: p.hint, lines: p.lines })),
    };
  });
}

async function inspectDatabase(db: Db, config: Config, migrations: Migration[], diffLinesShown: number, read?: DatabaseState): Promise<{ position: Position; rows: MigrationRow[]; problems: DbvcError[] }> {
  const state = read ?? await readState(db, config.schema);
  const position = locateDatabase(migrations, state, config.migrationsLabel);
  const texts = await readRecordedTexts(db, config.schema, position.drifted.map((m) => m.version));
  const problems = explainDrift(listProblems(position, migrations), position.drifted, texts, diffLinesShown);
  return { position, rows: listMigrationStates(migrations, position, state), problems };
}

/** The current revision as stored in alembic_version (null at base). Read-only; refuses (exit 3) rather than print a revision the table does not hold. */
export async function current(config: Config, options: SessionOptions): Promise<{ current: string | null; isHead: boolean; stem: string | null }> {
  const report = await status(config, options);
  if (report.applied === null) { // never print a revision alembic_version does not hold, nor base for two rows
    const problem = report.problems.find((p) => p.code === 'state')!;
    throw new DbvcError('state', problem.message, { lines: problem.lines, hint: problem.hint });
  }
  const isHead = report.problems.length === 0 && report.pending.length === 0;
  return { current: report.current, isHead, stem: report.currentStem };
}

/** Every dbvc_history row, oldest first, without the SQL texts (dbvc show REV has them). Read-only. */
export async function history(config: Config, options: SessionOptions): Promise<HistoryRow[]> {
  return withSession(config, options, 'dbvc history', (db) => readHistory(db, config.schema));
}

export interface MigrationDetail {
  version: string;
  name: string;
  up: { file: string; checksum: string };
  down: { file: string; checksum: string; isEmpty: boolean } | null;
  state: MigrationRow;
  change: { isCosmetic: boolean; diff: string[] } | null; // an applied up file that changed since: against the recorded text
  history: HistoryRow[]; // with the SQL as recorded
}

/** One migration: its files and checksums, its state on the target, what changed since it was applied, its history. */
export async function show(config: Config, revision: string, options: SessionOptions): Promise<MigrationDetail> {
  const { migrations } = await readMigrations(config.migrationsDir, config.migrationsLabel);
  const index = resolveRevision(revision, migrations, -1);
  if (index < 0) throw new DbvcError('usage', 'show needs a migration, not base', { hint: 'name it by id, number or stem, for example dbvc show 0003' });
  const m = migrations[index];
  return withSession(config, options, 'dbvc show', async (db) => {
    const { rows } = await inspectDatabase(db, config, migrations, 0);
    const history = await readHistory(db, config.schema, m.version);
    const [recorded] = (await readRecordedTexts(db, config.schema, [m.version])).values();
    const row = rows.find((r) => r.version === m.version)!;
    const isChanged = recorded !== undefined && recorded !== m.up.text && row.state === 'changed';
    return {
      version: m.version, name: m.name,
      up: { file: m.up.path, checksum: m.up.checksum },
      down: m.down ? { file: m.down.path, checksum: m.down.checksum, isEmpty: m.down.isEmpty === true } : null,
      state: row,
      change: isChanged ? { isCosmetic: isCosmeticChange(recorded, m.up.text), diff: diffLines(recorded, m.up.text, m.up.path) } : null,
      history,
    };
  });
}
