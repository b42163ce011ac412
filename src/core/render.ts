// A Plan -> the SQL script an online run would execute, for a DBA to review and run with psql; and the text the
// online run sends for each transactional step.
import { ledgerDdl, quoteIdent, recordStep, type StepRecord } from './ledger.js';
import { endsOpen } from './lexer.js';
import { DbvcError } from './errors.js';
import { labelAt, resolveRevision, storedId, type Migration, type Plan, type Position, type Step } from './plan.js';

export interface RenderOptions {
  target: string; // the --db name
  folder: string; // the migrations folder as shown
  schema: string;
  dbvcVersion: string;
  lockTimeoutMs?: number; // --ddl-lock-timeout: set for each migration, as the online run does
  applied?: string[]; // the versions the script assumes ran (up to its start), checked against dbvc_history
}

export interface RenderedFile {
  name: string; // sorts in execution order
  text: string;
}

export interface OfflineRange {
  fromIndex: number;
  toIndex: number;
}

/**
 * Reads an offline range: `FROM:TO` (TO may be relative to FROM, as in 0002:+2), or for upgrade just `TO`
 * (from base). A downgrade needs its FROM: there is no database to ask.
 */
export function resolveRange(spec: string | undefined, migrations: Migration[], direction: 'up' | 'down'): OfflineRange {
  const command = direction === 'up' ? 'upgrade' : 'downgrade';
  const parts = (spec ?? (direction === 'up' ? 'base:head' : '')).split(':');
  if (parts.length === 1 && direction === 'up') parts.unshift('base');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new DbvcError('usage', `an offline ${command} needs a range FROM:TO${direction === 'down' ? ', including where the database starts' : ''}`, {
      hint: direction === 'down' ? 'for example dbvc downgrade 0005:0002 --sql (there is no database to ask where it is)' : 'for example dbvc upgrade 0002:0005 --sql',
    });
  }
  const fromIndex = resolveRevision(parts[0], migrations, -1);
  const toIndex = resolveRevision(parts[1], migrations, fromIndex);
  const isWrongWay = direction === 'up' ? toIndex < fromIndex : toIndex > fromIndex;
  if (isWrongWay) {
    const other = direction === 'up' ? 'downgrade' : 'upgrade';
    throw new DbvcError('usage', `the range ${parts[0]}:${parts[1]} (${labelAt(migrations, fromIndex)} -> ${labelAt(migrations, toIndex)}) goes the wrong way for ${command}`, {
      hint: `use dbvc ${other} ${parts[0]}:${parts[1]} --sql, or swap the ends`,
    });
  }
  return { fromIndex, toIndex };
}

/** Where an offline script assumes the database starts. */
export function offlinePosition(migrations: Migration[], fromIndex: number): Position {
  return { current: fromIndex < 0 ? null : storedId(migrations[fromIndex]), index: fromIndex, isLost: false, problems: [], drifted: [], outOfOrder: [], failures: [] };
}

/** One script per migration (the first also carries the header and, from base, the table creation). */
export function renderFiles(plan: Plan, options: RenderOptions): RenderedFile[] {
  const width = Math.max(3, String(plan.steps.length).length);
  const header = renderHeader(plan, options);
  if (plan.steps.length === 0) return [{ name: `${'0'.repeat(width)}_nothing.sql`, text: `${header}\n-- Nothing to do: the range is empty.\n` }];
  return plan.steps.map((step, i) => {
    const verb = step.direction === 'up' ? 'upgrade' : 'downgrade';
    const name = `${String(i + 1).padStart(width, '0')}_${verb}_${step.migration.stem}.sql`;
    const isFromBase = plan.from === null && plan.direction === 'up';
    const preamble = i === 0 ? `${header}\n${isFromBase ? renderLedger(options.schema) : ''}` : '';
    const check = i === 0 && !isFromBase ? renderOrderCheck(plan, options.schema, options.applied ?? []) : '';
    return { name, text: preamble + renderStep(step, options, check) };
  });
}

function renderHeader(plan: Plan, options: RenderOptions): string {
  const verb = plan.direction === 'up' ? 'upgrade' : 'downgrade';
  const lines = [
    `-- dbvc ${options.dbvcVersion} offline ${verb} script`,
    `-- target: ${options.target} (${options.folder}), schema ${options.schema}`,
    `-- range: ${plan.from ?? 'base'} -> ${plan.to ?? 'base'} (${plan.steps.length} migration${plan.steps.length === 1 ? '' : 's'})`,
    '-- run with: psql -v ON_ERROR_STOP=1 -X -f <this file>',
    '-- each migration runs in its own transaction and first checks that alembic_version holds the revision it starts from',
  ];
  if (plan.steps.length > 0) lines.push('-- files:');
  for (const step of plan.steps) lines.push(`--   ${step.file}  ${fileChecksum(step)}`);
  return lines.join('\n') + '\n';
}

function fileChecksum(step: Step): string {
  if (step.direction === 'up') return step.migration.up.checksum;
  return step.migration.down?.checksum ?? 'recorded SQL';
}

/**
 * A script that starts above base assumes every migration up to its start ran. On a database dbvc has been moving,
 * one with no history row never ran (it appeared later, out of order): stop before anything runs, as online.
 */
function renderOrderCheck(plan: Plan, schema: string, versions: string[]): string {
  if (versions.length === 0 || plan.steps.length === 0) return '';
  const history = `${quoteIdent(schema)}.dbvc_history`;
  return `
-- dbvc: stop unless every migration up to ${plan.from} is recorded (one that is not never ran: out of order)
DO $dbvc_order$
DECLARE missing text;
BEGIN
    IF to_regclass(${literal(history)}) IS NULL THEN
        RETURN; -- no history: a database no dbvc run has moved
    END IF;
    IF EXISTS (SELECT FROM ${history} WHERE event <> 'adopted') THEN
        SELECT string_agg(v, ', ' ORDER BY n) INTO missing FROM unnest(ARRAY[${versions.map(literal).join(', ')}]::text[]) WITH ORDINALITY AS t(v, n)
        WHERE NOT EXISTS (SELECT FROM ${history} h WHERE h.version_num = t.v AND h.event IN ('up', 'stamp', 'repair', 'adopted') AND h.up_checksum IS NOT NULL);
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'dbvc: out of order: % never ran on this database, which is already above it', missing
                USING HINT = 'renumber it above head with dbvc renumber, or apply it online with dbvc upgrade --allow-out-of-order';
        END IF;
    END IF;
END
$dbvc_order$;`;
}

function renderLedger(schema: string): string {
  return `-- dbvc bookkeeping: alembic_version (as Alembic creates it) and dbvc_history\n${ledgerDdl(schema)}\n`;
}

/** One migration; `check` (SQL, or '') runs right after the guard that alembic_version holds the step's start. */
function renderStep(step: Step, options: RenderOptions, check: string): string {
  const record = recordStep(step);
  const verb = step.direction === 'up' ? 'upgrade' : 'downgrade';
  const timeout = options.lockTimeoutMs === undefined ? undefined : `'${Math.round(options.lockTimeoutMs)}ms'`;
  const comment = `-- Running ${verb} ${step.from ?? ''} -> ${step.to ?? ''}`;
  const bookkeeping = [`${renderMove(step, options.schema, false)};`, renderHistoryInsert(record, options)];
  if (step.noTransaction) {
    // psql sends each statement on its own, outside any transaction, as the online run does for this file
    const setting = timeout ? [`SET lock_timeout = ${timeout};`] : [];
    const reset = timeout ? ['RESET lock_timeout;'] : [];
    return [renderGuard(step, options.schema) + check, comment, `-- ${step.file} (no-transaction: statement by statement)`, RESET_SESSION, ...setting,
      terminate(step.sql), ...reset, 'BEGIN;', RESET_SESSION, ...bookkeeping, 'COMMIT;', ''].join('\n');
  }
  const setting = timeout ? [`SET LOCAL lock_timeout = ${timeout};`] : [];
  return ['BEGIN;', RESET_SESSION, ...setting, renderGuard(step, options.schema) + check, comment, `-- ${step.file}`, terminate(step.sql), RESET_SESSION, ...bookkeeping, 'COMMIT;', ''].join('\n');
}

export interface OnlineStepOptions {
  schema: string;
  lockTimeoutMs?: number;
  runId: string;
  clientHost: string;
  dbvcVersion: string;
  isRecordPrepared?: boolean; // the session holds RECORD_STEP (renderPrepareRecord)
  sessionSetup?: string; // dbvc's session settings, set again after each reset (Connection.sessionSetup)
}

/** In the error PostgreSQL raises when a step's move found alembic_version not holding the revision it starts from. */
export const MOVED_NOTHING = 'dbvc: alembic_version did not hold the revision this step starts from';

/** The prepared statement that records a step moving alembic_version from one revision to another. */
export const RECORD_STEP = 'dbvc_record_step';

/**
 * What every migration starts from, online and in the offline script (which psql runs in one session): the session
 * as it connected. A migration's SET, SET ROLE or SET SESSION AUTHORIZATION ends with it, so its result never
 * depends on how runs were batched, and dbvc's own bookkeeping runs as the user that connected (issue 12).
 * RESET ALL leaves role and session authorization alone, hence all three.
 */
export const RESET_SESSION = 'RESET SESSION AUTHORIZATION;\nRESET ROLE;\nRESET ALL;';

// Only SQL that says SET, RESET or set_config can change the session's settings, role or authorization (a function
// defined earlier that calls set_config at session level is the exception, README "Running against production").
const CHANGES_SESSION = /\b(?:set|reset|set_config)\b/i;

/** Whether a file's text may leave the session changed, so the online run resets it after the file (~0.1 ms each). */
export function mayChangeSession(sql: string): boolean {
  return CHANGES_SESSION.test(sql);
}

/** The session reset, followed by dbvc's own session settings (Connection.sessionSetup), which RESET ALL clears. */
export function renderReset(sessionSetup = ''): string {
  return `${RESET_SESSION}\n${sessionSetup ? `${sessionSetup}\n` : ''}`;
}

/**
 * A transactional step as the online run sends it, as one simple query in one round trip: BEGIN, the lock timeout,
 * a check that alembic_version holds the step's start (MOVED_NOTHING in the error otherwise, so a step sent behind one
 * whose COMMIT failed runs nothing), the file, the session reset when the file may have changed it (with dbvc's own
 * settings after it), the alembic_version move with its history row, and COMMIT. Every file so starts from the
 * session as it connected. PostgreSQL stops at the first error and leaves the transaction open and aborted, so the
 * step sent behind fails at its BEGIN. The move fails (MOVED_NOTHING) unless it changed alembic_version's one row; the
 * history row's duration is the time since BEGIN. bodyStart: where the file's text starts, in characters as
 * PostgreSQL counts an error's position; statementsBefore: how many statements precede the file's own (the failing one
 * is found by counting those that completed).
 */
export function renderStepTransaction(step: Step, options: OnlineStepOptions): { sql: string; bodyStart: number; statementsBefore: number } {
  const setting = options.lockTimeoutMs === undefined ? '' : `SET LOCAL lock_timeout = '${Math.round(options.lockTimeoutMs)}ms';\n`;
  const prefix = `BEGIN;\n${setting}${renderStartCheck(step, options)};\n`;
  const statementsBefore = 1 + (setting ? 1 : 0) + 1;
  const reset = mayChangeSession(step.sql) ? renderReset(options.sessionSetup) : '';
  const r = recordStep(step);
  const values = [
    options.runId, r.event, r.version, r.name, r.fromVersion, r.toVersion, r.upChecksum, r.downChecksum, r.upSql, r.downSql,
    options.clientHost, options.dbvcVersion,
  ].map(literal);
  const bookkeeping = options.isRecordPrepared && isPreparedMove(step)
    ? `EXECUTE ${RECORD_STEP}(${values.join(', ')});`
    : `${renderRecord(renderMove(step, options.schema, true), values, options.schema, literal(r.note))};`;
  const sql = `${prefix}${terminate(step.sql)}\n${reset}${bookkeeping}\nCOMMIT;`;
  return { sql, bodyStart: prefix.length, statementsBefore };
}

/** The prepared form of the start check, for a step that starts from a revision (every step but one from base). */
export const CHECK_START = 'dbvc_check_start';

/** A statement that fails (MOVED_NOTHING) unless alembic_version holds exactly the step's start. */
function renderStartCheck(step: Step, options: OnlineStepOptions): string {
  if (options.isRecordPrepared && step.from !== null) return `EXECUTE ${CHECK_START}(${literal(step.from)})`;
  const table = `${quoteIdent(options.schema)}.alembic_version`;
  const holds = step.from === null ? `NOT EXISTS (SELECT FROM ${table})` : `(SELECT array_agg(version_num) FROM ${table}) = ARRAY[${literal(step.from)}]::varchar[]`;
  return renderHolds(holds);
}

function renderHolds(holds: string): string {
  return `SELECT (CASE WHEN ${holds} THEN '1'::text ELSE ${literal(MOVED_NOTHING)} END)::integer AS holds`;
}

/**
 * PREPAREs the bookkeeping of a step that moves alembic_version from one revision to another, the UPDATE every step
 * but a first from base and a last to base makes: planned once per session, not per migration (~0.2 ms of server
 * time each on a 2-core machine, against ~2.5 ms for the benchmark's whole migration; issue 6).
 */
export function renderPrepareRecord(schema: string): string {
  const table = `${quoteIdent(schema)}.alembic_version`;
  const move = `UPDATE ${table} SET version_num = $6 WHERE version_num = $5`;
  const values = Array.from({ length: 12 }, (_, i) => `$${i + 1}`);
  const check = renderHolds(`(SELECT array_agg(version_num) FROM ${table}) = ARRAY[$1]::varchar[]`);
  return `PREPARE ${RECORD_STEP}(${values.map(() => 'text').join(', ')}) AS\n${renderRecord(move, values, schema)};\nPREPARE ${CHECK_START}(text) AS ${check};`;
}

export function isPreparedMove(step: Step): boolean {
  return step.from !== null && step.to !== null && !step.isOutOfOrder; // an out-of-order step records a note
}

/**
 * The move and the history row in one statement, counting what moved. values: run id, event, version, name, from, to,
 * up and down checksums, up and down SQL, client host, dbvc version. The CASE is cast as a whole, at run time: a cast
 * of the literal alone could be folded, and fail, while planning.
 */
function renderRecord(move: string, values: string[], schema: string, note = 'NULL'): string {
  const duration = '(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer';
  const columns = [...values.slice(0, 11), duration, values[11], 'NULL', note];
  return `WITH moved AS (${move} RETURNING 1),
recorded AS (INSERT INTO ${quoteIdent(schema)}.dbvc_history
    (run_id, event, version_num, name, from_version, to_version, up_checksum, down_checksum, up_sql, down_sql, client_host, duration_ms, dbvc_version, failed_statement, note)
  SELECT ${columns.join(', ')} FROM moved)
SELECT (CASE WHEN count(*) = 1 THEN '1'::text ELSE ${literal(MOVED_NOTHING)} END)::integer AS moved FROM moved`;
}

/** Aborts the transaction unless alembic_version holds exactly the revision the step starts from. */
function renderGuard(step: Step, schema: string): string {
  const expected = step.from === null ? 'base (no row)' : step.from;
  const test = step.from === null ? 'found IS NOT NULL' : `found IS DISTINCT FROM ${literal(step.from)}`;
  return `DO $dbvc_guard$
DECLARE found text;
BEGIN
    SELECT string_agg(version_num, ', ') INTO found FROM ${quoteIdent(schema)}.alembic_version;
    IF ${test} THEN
        RAISE EXCEPTION 'dbvc: % expects alembic_version to hold ${expected}, but it holds %', ${literal(step.file)}, coalesce(found, 'base (no row)');
    END IF;
END
$dbvc_guard$;`;
}

/** The file as written, with a final newline and, if its last statement is unterminated, a semicolon. */
function terminate(sql: string): string {
  const text = sql.endsWith('\n') ? sql : sql + '\n';
  return endsOpen(sql) ? text + ';' : text.replace(/\n$/, '');
}

/**
 * The alembic_version move, as Alembic makes it: INSERT from base, UPDATE from a revision, DELETE to base. With
 * onlyIntoEmpty the INSERT adds nothing when the table already holds a row (the online step counts what it moved;
 * the offline script's guard has checked the table before).
 */
function renderMove(step: Step, schema: string, onlyIntoEmpty: boolean): string {
  const table = `${quoteIdent(schema)}.alembic_version`;
  if (step.from === null) {
    return onlyIntoEmpty
      ? `INSERT INTO ${table} (version_num) SELECT ${literal(step.to)} WHERE NOT EXISTS (SELECT FROM ${table})`
      : `INSERT INTO ${table} (version_num) VALUES (${literal(step.to)})`;
  }
  if (step.to === null) return `DELETE FROM ${table} WHERE version_num = ${literal(step.from)}`;
  return `UPDATE ${table} SET version_num = ${literal(step.to)} WHERE version_num = ${literal(step.from)}`;
}

function renderHistoryInsert(record: StepRecord, options: RenderOptions): string {
  const values = [
    "'offline'", literal(record.event), literal(record.version), literal(record.name), literal(record.fromVersion),
    literal(record.toVersion), literal(record.upChecksum), literal(record.downChecksum), literal(record.upSql),
    literal(record.downSql), "coalesce(inet_client_addr()::text, 'local socket')", literal(options.dbvcVersion),
  ];
  return `INSERT INTO ${quoteIdent(options.schema)}.dbvc_history
    (run_id, event, version_num, name, from_version, to_version, up_checksum, down_checksum, up_sql, down_sql, client_host, dbvc_version)
VALUES (${values.join(', ')});`;
}

/** A SQL literal; text that could hold quotes or backslashes goes in a dollar quote whose tag it does not contain. */
export function literal(value: string | null): string {
  if (value === null) return 'NULL';
  if (/^[A-Za-z0-9_:. ()/-]*$/.test(value)) return `'${value}'`;
  let tag = 'dbvc';
  for (let n = 1; value.includes(`$${tag}$`); n++) tag = `dbvc${n}`;
  return `$${tag}$${value}$${tag}$`;
}
