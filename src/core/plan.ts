// Migrations + what the database records -> where it stands, what is wrong, and the steps to a target.
import { DbvcError } from './errors.js';
import { hasNoTransactionDirective, type SqlFile } from './parse.js';

export interface Migration {
  version: string;
  number: bigint;
  name: string;
  stem: string;
  up: SqlFile;
  down?: SqlFile;
}

/** What the ledger says about one version: its most recent row that recorded it as applied. */
export interface Recorded {
  version: string;
  event: string;
  upChecksum: string;
  downChecksum: string | null;
  downSql: string | null;
  appliedAt?: Date; // when that row was written
  appliedBy?: string; // by which database user
  name?: string | null;
  hasDownSql?: boolean; // whether the row holds down SQL (downSql itself is read only when needed)
}

/** A no-transaction migration that stopped part-way and nothing has resolved since. */
export interface Failure {
  version: string;
  direction: 'up' | 'down';
  fromVersion: string | null;
  toVersion: string | null;
  failedStatement: number; // 1-based; the statements before it ran
  sql: string; // the text as it was run
  note: string;
  at: Date;
}

export interface DatabaseState {
  versions: string[]; // the rows of alembic_version
  recorded: Map<string, Recorded>;
  failures: Failure[];
  isMovedByDbvc?: boolean; // dbvc_history has rows other than 'adopted': dbvc itself has been moving the database
}

export interface Position {
  current: string | null; // the raw alembic_version value; null is base
  index: number; // -1 for base (also when lost)
  isLost: boolean; // alembic_version holds an unknown revision or several rows: no position at all
  problems: DbvcError[]; // drift, unknown revision, branches (failures are listed apart, see failureProblem)
  drifted: Migration[];
  outOfOrder: Migration[]; // below the current revision, never applied, in a database dbvc has been moving
  failures: Failure[];
}

export interface Step {
  direction: 'up' | 'down';
  migration: Migration;
  from: string | null; // alembic_version before the step
  to: string | null; // and after it
  sql: string;
  file: string; // the file the SQL comes from, or a note that it comes from the history
  noTransaction: boolean; // -- dbvc:no-transaction: statement by statement, outside any transaction
  skip: number; // statements already run by a failed attempt (dbvc upgrade --resume)
  isOutOfOrder?: boolean; // applied below the current revision (--allow-out-of-order): alembic_version stays
  recordedDown?: Recorded; // a down step whose file is gone: it runs the down SQL recorded when the up was applied
}

export interface Plan {
  direction: 'up' | 'down';
  from: string | null;
  to: string | null;
  fromIndex: number;
  toIndex: number;
  steps: Step[];
}

/** Finds the current migration and every reason dbvc should not move from there. */
export function locateDatabase(migrations: Migration[], state: DatabaseState, folder: string): Position {
  const problems: DbvcError[] = [];
  if (state.versions.length > 1) {
    const listed = state.versions.join(', ');
    problems.push(new DbvcError('state', `alembic_version holds ${state.versions.length} rows (${listed}): the database is on several Alembic branches`, {
      hint: 'merge the branches with Alembic first, or pick the revision that is really applied with dbvc stamp REV --purge',
    }));
    return { current: null, index: -1, isLost: true, problems, drifted: [], outOfOrder: [], failures: state.failures };
  }
  const current = state.versions[0] ?? null;
  const index = current === null ? -1 : indexOfStored(migrations, current);
  if (index === undefined) {
    problems.push(unknownRevision(current!, migrations, folder, state.recorded.get(current!)));
    return { current, index: -1, isLost: true, problems, drifted: [], outOfOrder: [], failures: state.failures };
  }
  const drifted = findDrift(migrations.slice(0, index + 1), state.recorded);
  for (const migration of drifted) {
    const recorded = state.recorded.get(migration.version)!;
    problems.push(new DbvcError('state', `${migration.up.path} changed after it was applied`, {
      file: migration.up.path,
      lines: [`recorded: ${recorded.upChecksum}`, `on disk:  ${migration.up.checksum}`],
      hint: 'restore the file as it was applied, or write a new migration for the change; if the new text is what is deployed, accept it with dbvc repair',
    }));
  }
  const outOfOrder = state.isMovedByDbvc ? migrations.slice(0, index + 1).filter((m) => !state.recorded.has(m.version)) : [];
  return { current, index, isLost: false, problems, drifted, outOfOrder, failures: state.failures };
}

/**
 * A file that appeared below the revision of a database dbvc has been moving (a branch merged after a later one was
 * deployed) was never applied: it is neither adopted nor skipped, and nothing moves until the user decides.
 */
function outOfOrderProblem(migration: Migration, current: string): DbvcError {
  return new DbvcError('state', `${migration.up.path} is out of order: it was never applied, and the database is already at ${current}, above it`, {
    file: migration.up.path,
    hint: `renumber it above head with dbvc renumber ${migration.version} (renames the pair to the next free number), or apply it where it stands with dbvc upgrade --allow-out-of-order (recorded as such in dbvc_history)`,
  });
}

/**
 * Every reason not to move: the position's problems, each file out of order (unless the run applies them, with
 * --allow-out-of-order) and each unresolved failure (but `except`, the one being resumed).
 */
export function listProblems(position: Position, migrations: Migration[], except?: Failure, isOutOfOrderAllowed = false): DbvcError[] {
  const failures = position.failures.filter((f) => f !== except).map((f) => failureProblem(f, migrations));
  const outOfOrder = isOutOfOrderAllowed ? [] : position.outOfOrder.map((m) => outOfOrderProblem(m, position.current!));
  return [...position.problems, ...outOfOrder, ...failures];
}

/**
 * `--resume`: skips the statements a failed no-transaction attempt already ran, after checking the file still
 * starts with exactly those statements. Throws a 'usage' DbvcError when they changed.
 */
export function resumeStep(step: Step, failure: Failure, split: (sql: string) => string[]): Step {
  const ran = failure.failedStatement - 1;
  const before = split(failure.sql).slice(0, ran);
  const now = split(step.sql);
  const changed = before.findIndex((text, i) => now[i] !== text);
  if (now.length < failure.failedStatement || changed !== -1) {
    const which = changed !== -1 ? `statement ${changed + 1}, which already ran, changed` : `it now has ${now.length} statements, fewer than the ${failure.failedStatement} it had`;
    throw new DbvcError('usage', `cannot resume ${step.file}: ${which}`, {
      file: step.file,
      hint: `keep statements 1-${ran} as they ran and fix only statement ${failure.failedStatement} onwards; or undo them by hand and use --restart`,
    });
  }
  return { ...step, skip: ran };
}

/** What ran, what did not, and the three ways out; nobody has to edit dbvc's tables by hand. */
export function failureProblem(failure: Failure, migrations: Migration[]): DbvcError {
  const migration = migrations.find((m) => m.version === failure.version);
  const isUp = failure.direction === 'up';
  const file = migration ? (isUp ? migration.up.path : migration.up.path.replace(/\.up\.sql$/, '.down.sql')) : `migration ${failure.version}`;
  const ran = failure.failedStatement === 2 ? 'statement 1 ran' : `statements 1-${failure.failedStatement - 1} ran`;
  const command = isUp ? 'upgrade' : 'downgrade';
  const target = isUp ? failure.version : failure.toVersion ?? 'base';
  return new DbvcError('state', `${file} (no-transaction) stopped part-way at statement ${failure.failedStatement} on ${failure.at.toISOString()}: ${ran}, the rest did not`, {
    file,
    lines: [failure.note],
    hint: `fix the file and run dbvc ${command} --resume to continue from statement ${failure.failedStatement}; or finish it by hand and run dbvc stamp ${target}; or undo what ran by hand and run dbvc ${command} --restart`,
  });
}

function indexOfStored(migrations: Migration[], stored: string): number | undefined {
  const exact = migrations.findIndex((m) => m.version === stored);
  if (exact !== -1) return exact;
  const adopted = migrations.findIndex((m) => m.up.alembicRevision === stored);
  return adopted === -1 ? undefined : adopted;
}

function unknownRevision(current: string, migrations: Migration[], folder: string, recorded?: Recorded): DbvcError {
  if (recorded) return revisionNotInCheckout(current, folder, recorded);
  const known = migrations.length > 0 ? `${migrations[0].version}..${migrations[migrations.length - 1].version}` : 'none';
  return new DbvcError('state', `alembic_version holds revision "${current}", which no file in ${folder} knows (known: ${known})`, {
    hint: `if the schema matches one of the files, adopt the database with dbvc stamp REV --purge; if it came from Alembic, add "-- dbvc:alembic-revision ${current}" to the up file it corresponds to`,
  });
}

/** The database is at a revision dbvc applied from a file this checkout lacks: another branch's, most often. */
function revisionNotInCheckout(current: string, folder: string, recorded: Recorded): DbvcError {
  const stem = recorded.name ? `${current}_${recorded.name}` : current;
  const when = recorded.appliedAt ? ` on ${recorded.appliedAt.toISOString()}` : '';
  const by = recorded.appliedBy ? ` by ${recorded.appliedBy}` : '';
  const back = recorded.hasDownSql
    ? 'or go back to a revision this checkout has with dbvc downgrade REV, which runs the down SQL dbvc_history recorded (and says so first)'
    : 'its down SQL was not recorded, so only that branch can take it back';
  return new DbvcError('state', `alembic_version holds revision "${current}", which no file in ${folder} has: dbvc applied ${stem}${when}${by}`, {
    hint: `switch to the branch that has ${folder}/${stem}.up.sql; ${back}`,
  });
}

/**
 * The migrations plus one per version dbvc_history records as applied whose files this checkout lacks, built from
 * the recorded SQL (up text by version in `upTexts`): what lets a downgrade take such a revision back.
 */
export function withRecordedMigrations(migrations: Migration[], recorded: Map<string, Recorded>, upTexts: Map<string, string>, folder: string): Migration[] {
  const known = new Set(migrations.map((m) => m.version));
  const added: Migration[] = [];
  for (const r of recorded.values()) {
    const text = upTexts.get(r.version);
    if (known.has(r.version) || !/^\d{1,32}$/.test(r.version) || text === undefined) continue;
    const stem = r.name ? `${r.version}_${r.name}` : r.version;
    added.push({ version: r.version, number: BigInt(r.version), name: r.name ?? '', stem, up: { path: `${folder}/${stem}.up.sql`, text, checksum: r.upChecksum, noTransaction: false } });
  }
  if (added.length === 0) return migrations;
  return [...migrations, ...added].sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
}

function findDrift(applied: Migration[], recorded: Map<string, Recorded>): Migration[] {
  return applied.filter((m) => {
    const row = recorded.get(m.version);
    return row !== undefined && row.upChecksum !== m.up.checksum;
  });
}

/** Resolves head, base, an id / number / stem, +N, -N, head-N, REV+N, REV-N to an index (-1 = base). */
export function resolveRevision(spec: string, migrations: Migration[], currentIndex: number): number {
  const last = migrations.length - 1;
  const relative = /^([+-])(\d+)$/.exec(spec);
  if (relative) return step(currentIndex, relative[1], relative[2], migrations, spec, 'the current revision');
  const offset = /^(.+?)([+-])(\d+)$/.exec(spec);
  if (offset) {
    const anchor = offset[1] === 'head' ? last : findRevision(offset[1], migrations);
    if (anchor !== undefined) return step(anchor, offset[2], offset[3], migrations, spec, offset[1]);
  }
  if (spec === 'head' || spec === 'heads') return last;
  if (spec === 'base') return -1;
  const found = findRevision(spec, migrations);
  if (found === undefined) {
    throw new DbvcError('usage', `unknown revision "${spec}"`, {
      hint: `name a revision by id (0003), number (3) or file stem (0003_add_orders), or use head, base, +N, -N; known: ${describeRange(migrations)}`,
    });
  }
  return found;
}

function findRevision(spec: string, migrations: Migration[]): number | undefined {
  let index = migrations.findIndex((m) => m.version === spec || m.stem === spec || m.up.alembicRevision === spec);
  if (index === -1 && /^\d{1,32}$/.test(spec)) index = migrations.findIndex((m) => m.number === BigInt(spec));
  return index === -1 ? undefined : index;
}

function step(from: number, sign: string, digits: string, migrations: Migration[], spec: string, anchor: string): number {
  const count = Number(digits);
  const target = sign === '+' ? from + count : from - count;
  const last = migrations.length - 1;
  if (target > last) {
    const room = last - from;
    throw new DbvcError('usage', `${spec} goes past head (${labelAt(migrations, last)})`, {
      hint: room > 0 ? `from ${anchor} (${labelAt(migrations, from)}) at most +${room} is possible` : `${anchor} is already head`,
    });
  }
  if (target < -1) {
    const room = from + 1;
    throw new DbvcError('usage', `${spec} goes below base`, {
      hint: room > 0 ? `from ${anchor} (${labelAt(migrations, from)}) at most -${room} is possible` : `${anchor} is already base`,
    });
  }
  return target;
}

export function labelAt(migrations: Migration[], index: number): string {
  return index < 0 ? 'base' : migrations[index].version;
}

function describeRange(migrations: Migration[]): string {
  if (migrations.length === 0) return 'no migrations yet';
  return `${migrations[0].version}..${migrations[migrations.length - 1].version} (head)`;
}

/**
 * Steps from the current position up to the target; a target below the current one is an error. With
 * applyOutOfOrder the files out of order come first, each leaving alembic_version where it is.
 */
export function planUpgrade(migrations: Migration[], position: Position, targetIndex: number, applyOutOfOrder = false): Plan {
  if (targetIndex < position.index) {
    throw new DbvcError('usage', `cannot upgrade to ${labelAt(migrations, targetIndex)}: the database is at ${labelAt(migrations, position.index)}, which is above it`, {
      hint: `to go down use dbvc downgrade ${labelAt(migrations, targetIndex)}; upgrade can reach ${describeAbove(migrations, position.index)}`,
    });
  }
  const steps: Step[] = [];
  let from = position.current;
  for (const migration of applyOutOfOrder ? position.outOfOrder : []) {
    steps.push({ ...upStep(migration, from, from), isOutOfOrder: true });
  }
  for (let i = position.index + 1; i <= targetIndex; i++) {
    const migration = migrations[i];
    const to = storedId(migration);
    steps.push(upStep(migration, from, to));
    from = to;
  }
  return { direction: 'up', from: position.current, to: storedIdAt(migrations, targetIndex), fromIndex: position.index, toIndex: targetIndex, steps };
}

function upStep(migration: Migration, from: string | null, to: string | null): Step {
  return { direction: 'up', migration, from, to, sql: migration.up.text, file: migration.up.path, noTransaction: migration.up.noTransaction, skip: 0 };
}

/** Steps from the current position down to the target; refuses before any step if one has no down SQL. */
export function planDowngrade(migrations: Migration[], position: Position, targetIndex: number, recorded: Map<string, Recorded>, isOffline = false): Plan {
  if (targetIndex > position.index) {
    throw new DbvcError('usage', `cannot downgrade to ${labelAt(migrations, targetIndex)}: the database is at ${labelAt(migrations, position.index)}, which is below it`, {
      hint: `to go up use dbvc upgrade ${labelAt(migrations, targetIndex)}; downgrade can reach ${describeBelow(migrations, position.index)}`,
    });
  }
  const steps: Step[] = [];
  const irreversible: string[] = [];
  let from = position.current;
  for (let i = position.index; i > targetIndex; i--) {
    const migration = migrations[i];
    const to = storedIdAt(migrations, i - 1);
    const source = downSource(migration, recorded.get(migration.version));
    if (!source) irreversible.push(downPath(migration));
    else steps.push({ direction: 'down', migration, from, to, ...source, skip: 0 });
    from = to;
  }
  if (irreversible.length > 0) {
    throw new DbvcError('irreversible', `cannot downgrade to ${labelAt(migrations, targetIndex)}: ${irreversible.length === 1 ? 'a migration on the way has' : `${irreversible.length} migrations on the way have`} no down file`, {
      lines: irreversible.map((f) => `missing: ${f}`),
      hint: `write the down file(s), or downgrade only as far as the first irreversible migration${isOffline ? '; online, dbvc downgrade runs the down SQL recorded in dbvc_history when the migration was applied, and says so first' : ''}; nothing was run`,
    });
  }
  return { direction: 'down', from: position.current, to: storedIdAt(migrations, targetIndex), fromIndex: position.index, toIndex: targetIndex, steps };
}

/** The down file on disk wins; the SQL recorded when the migration was applied is the fallback, never silent (recordedDown). */
function downSource(migration: Migration, recorded: Recorded | undefined): Pick<Step, 'sql' | 'file' | 'noTransaction' | 'recordedDown'> | undefined {
  if (migration.down) return { sql: migration.down.text, file: migration.down.path, noTransaction: migration.down.noTransaction };
  if (!recorded?.downSql) return undefined;
  return { sql: recorded.downSql, file: `${downPath(migration)} (as recorded in dbvc_history)`, noTransaction: hasNoTransactionDirective(recorded.downSql), recordedDown: recorded };
}

/** What a step that runs recorded down SQL says before anything runs. */
export function describeRecordedDown(step: Step): string | undefined {
  const recorded = step.recordedDown;
  if (!recorded) return undefined;
  const when = recorded.appliedAt ? ` on ${recorded.appliedAt.toISOString()}` : '';
  return `${downPath(step.migration)} is not on disk: running the down SQL recorded in dbvc_history when ${step.migration.version} was ${recorded.event === 'up' ? 'applied' : recorded.event}${when} (${recorded.downChecksum ?? 'no checksum recorded'})`;
}

function downPath(migration: Migration): string {
  return migration.up.path.replace(/\.up\.sql$/, '.down.sql');
}

/** What alembic_version holds once `index` is applied (null at base). */
export function storedIdAt(migrations: Migration[], index: number): string | null {
  return index < 0 ? null : storedId(migrations[index]);
}

/**
 * The id written to alembic_version for a migration: the Alembic revision it replaces when it says so
 * (-- dbvc:alembic-revision), so Alembic itself can still read the database; otherwise its version.
 */
export function storedId(migration: Migration): string {
  return migration.up.alembicRevision ?? migration.version;
}

function describeAbove(migrations: Migration[], index: number): string {
  const last = migrations.length - 1;
  if (index >= last) return 'nothing (already at head)';
  return index + 1 === last ? migrations[last].version : `${migrations[index + 1].version}..${migrations[last].version}`;
}

function describeBelow(migrations: Migration[], index: number): string {
  if (index < 0) return 'nothing (already at base)';
  return index === 0 ? 'base' : `base..${labelAt(migrations, index - 1)}`;
}
