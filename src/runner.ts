// Carries out a Plan on one connection: each step's SQL, version move and history row in one transaction,
// or statement by statement for -- dbvc:no-transaction files, with failures pinned to file:line.
import { setTimeout as delay } from 'node:timers/promises';
import { DbvcError, excerpt, locateOffset } from './core/errors.js';
import { quoteIdent, recordStep } from './core/ledger.js';
import { lineOf, scanSql, type Statement } from './core/lexer.js';
import { CHECK_START, isPreparedMove, mayChangeSession, MOVED_NOTHING, RECORD_STEP, renderPrepareRecord, renderReset, renderStepTransaction } from './core/render.js';
import type { Plan, Step } from './core/plan.js';
import { findLockHolders, notMovedError, recordEvent, runCancellable, setLockTimeout, writeVersion, type Db, type HistoryEntry, type Tx } from './store.js';

export interface RunContext {
  schema: string;
  runId: string;
  clientHost: string;
  dbvcVersion: string;
  signal?: AbortSignal;
  singleTransaction?: boolean;
  sessionSetup?: string; // set again after each session reset (Connection.sessionSetup)
  completedBefore?(error: { code?: string; message?: string }): number | undefined; // Connection.completedBefore
  ddlLockTimeoutMs?: number; // lock_timeout for each migration; undefined leaves the server's setting
  ddlLockRetries?: number; // retries after a lock timeout (55P03), with a growing pause
  notices?: NoticeRoute;
  onStepStart?(step: Step): void;
  onStepDone?(step: Step, ms: number): void;
  onStepRan?(step: Step, ms: number): void; // --single-transaction: the step ran; it commits with the whole run
  onRetry?(step: Step, attempt: number, pauseMs: number): void;
}

/** Where the session's server notices go: shown at once, or to `intercept` while the runner sets it. */
export interface NoticeRoute {
  show(message: string): void;
  intercept?: (message: string) => void;
}

const LOCK_NOT_AVAILABLE = '55P03';
// Steps on the wire at once: the next one travels, and dbvc prepares the one after, while the server runs this one.
// No more than 2: postgres.js (3.4.9, connection.js ReadyForQuery) mismatches answers when two queries waiting behind
// the running one are both cancelled, and 2 already hides dbvc's own work (issue 6: W1 went from 1.7x to 1.06x psql).
const PIPELINE_DEPTH = 2;

/**
 * Runs the steps in order, each in its own transaction (or all in one with singleTransaction). A failing step is
 * rolled back alone and the run stops there with a 'sql' DbvcError (or 'interrupted' after the signal fired):
 * earlier steps stay committed. A no-transaction step that fails part-way is recorded as a 'failed' event.
 */
export async function runPlan(db: Db, plan: Plan, context: RunContext): Promise<Step[]> {
  if (context.singleTransaction) return runAsOneTransaction(db, plan, context);
  const done: Step[] = [];
  const steps = plan.steps;
  const isRecordPrepared = steps.some((s) => !s.noTransaction && isPreparedMove(s));
  if (isRecordPrepared) await db.unsafe(renderPrepareRecord(context.schema));
  for (let index = 0; index < steps.length;) {
    if (!steps[index].noTransaction) {
      let end = index + 1;
      while (end < steps.length && !steps[end].noTransaction) end++;
      await runInTransactions(db, steps.slice(index, end), { ...context, isRecordPrepared }, done);
      index = end;
      continue;
    }
    const step = steps[index++];
    if (context.signal?.aborted) throw interrupted(`before ${step.migration.stem}`, step.from);
    context.onStepStart?.(step);
    const started = performance.now();
    await runBare(db, step, context, started);
    done.push(step);
    context.onStepDone?.(step, performance.now() - started);
  }
  if (isRecordPrepared) await db.unsafe(`DEALLOCATE ${RECORD_STEP}; DEALLOCATE ${CHECK_START}`); // after a failure the session ends
  return done;
}

/** A step on the wire: its one query, settled or not, and the notices it raised before its line was shown. */
interface Sent {
  step: Step;
  query: ReturnType<Db['unsafe']>;
  bodyStart: number;
  statementsBefore: number;
  outcome: Promise<{ error?: unknown }>;
  isSettled: boolean;
  sentAt: number; // performance.now() when it was sent
  doneAt: number; // performance.now() when it settled
  held: string[];
}

/**
 * Steps that each run as one transaction, PIPELINE_DEPTH of them sent at a time, reported one by one in order.
 * Sending step k+1 before step k's answer is safe: when k fails its transaction stays aborted, so k+1 fails at its
 * BEGIN and runs nothing; where k's COMMIT itself failed, k+1's start check finds k's start revision, not k's end,
 * and k+1 runs nothing either (renderStepTransaction). Nothing behind a failed step runs or commits.
 */
async function runInTransactions(db: Db, steps: Step[], context: RunContext & { isRecordPrepared: boolean }, done: Step[]): Promise<void> {
  const wire: Sent[] = [];
  let shown: Step | undefined; // the step whose line is out; its notices show at once, later steps' are held
  const cancelSent = () => wire.filter((s) => !s.isSettled).forEach((s) => s.query.cancel());
  context.signal?.addEventListener('abort', cancelSent, { once: true });
  const notices = context.notices;
  if (notices) notices.intercept = (message) => holdNotice(wire, shown, message, notices);
  let next = 0;
  let tried = 0; // lock-timeout retries of the first step on the wire
  let previousDoneAt = performance.now();
  try {
    while (next < steps.length || wire.length > 0) {
      while (wire.length < PIPELINE_DEPTH && next < steps.length && !context.signal?.aborted) wire.push(sendStep(db, steps[next++], context));
      const head = wire[0];
      if (!head) throw interrupted(`before ${steps[next].migration.stem}`, steps[next].from);
      if (head.step !== shown) {
        shown = head.step;
        context.onStepStart?.(head.step);
        head.held.splice(0).forEach((message) => notices?.show(message));
      }
      const outcome = await head.outcome;
      if (!('error' in outcome)) {
        wire.shift();
        tried = 0;
        done.push(head.step);
        context.onStepDone?.(head.step, head.doneAt - Math.max(previousDoneAt, head.sentAt)); // its own time, though it was sent early
        previousDoneAt = head.doneAt;
        continue;
      }
      await Promise.all(wire.map((s) => s.outcome)); // failed or aborted: see above
      wire.length = 0;
      await endFailedTransaction(db);
      const error = outcome.error;
      if (!isLockTimeout(error) || tried >= (context.ddlLockRetries ?? 0) || context.signal?.aborted) throw await stepFailure(db, error, head, context);
      const pause = retryPause(tried++);
      context.onRetry?.(head.step, tried, pause);
      await delay(pause, undefined, { signal: context.signal }).catch(() => undefined); // an abort ends the pause
      next = steps.indexOf(head.step);
      previousDoneAt = performance.now();
    }
  } finally {
    context.signal?.removeEventListener('abort', cancelSent);
    if (notices) notices.intercept = undefined;
  }
}

/** Sends one step's query without waiting for it (see renderStepTransaction). */
function sendStep(db: Db, step: Step, context: RunContext & { isRecordPrepared: boolean }): Sent {
  const { sql, bodyStart, statementsBefore } = renderStepTransaction(step, {
    schema: context.schema, lockTimeoutMs: context.ddlLockTimeoutMs, runId: context.runId, clientHost: context.clientHost, dbvcVersion: context.dbvcVersion,
    isRecordPrepared: context.isRecordPrepared, sessionSetup: context.sessionSetup,
  });
  const query = db.unsafe(sql);
  const sent: Sent = { step, query, bodyStart, statementsBefore, outcome: Promise.resolve({}), isSettled: false, sentAt: performance.now(), doneAt: 0, held: [] };
  const settle = () => { sent.isSettled = true; sent.doneAt = performance.now(); };
  sent.outcome = query.execute().then(
    () => { settle(); return {}; },
    (error: unknown) => { settle(); return { error }; },
  );
  return sent;
}

/**
 * A notice belongs to the query the server is answering, which postgres.js marks `active` (postgres 3.4.9,
 * src/query.js) from the moment the previous query's answer ended. A step whose line is not out yet keeps it until it is.
 */
function holdNotice(wire: Sent[], shown: Step | undefined, message: string, notices: NoticeRoute): void {
  const owner = wire.find((s) => (s.query as unknown as { active?: boolean }).active === true && !s.isSettled);
  if (owner && owner.step !== shown) owner.held.push(message);
  else notices.show(message);
}

/**
 * The error a failed step stops the run with; its transaction has been ended. A syntax error carries its position
 * (nothing in the query ran); a runtime error does not, and its statement is found by counting the statements that
 * completed before it (Connection.completedBefore): nothing is run again to find it.
 */
async function stepFailure(db: Db, error: unknown, sent: Sent, context: RunContext): Promise<DbvcError> {
  const { step, bodyStart } = sent;
  if (context.signal?.aborted) return interrupted(`while running ${step.file}; it was rolled back`, step.from);
  const e = error as PgError;
  if (e.code === '22P02' && e.message?.includes(MOVED_NOTHING)) return notMovedError(step.from, step.to);
  if (e.table_name === 'dbvc_history' && e.schema_name === context.schema) return bookkeepingFailure(error, step); // a constraint on it
  if (e.code === '26000' && (e.message?.includes(RECORD_STEP) || e.message?.includes(CHECK_START))) {
    return bookkeepingFailure(error, step, `the file dropped dbvc's prepared statement ${RECORD_STEP} (DEALLOCATE ALL?): take that out of the file; `);
  }
  if (e.position !== undefined) {
    const inFile = Number(e.position) - bodyStart; // PostgreSQL counts from the start of the whole query
    if (inFile < 1 || inFile > Array.from(step.sql).length) return bookkeepingFailure(error, step); // characters, not UTF-16 units
    e.position = String(inFile);
    return describeFailure(db, error, step, context);
  }
  const statements = scanSql(step.sql).statements;
  const completed = context.completedBefore?.(e);
  const index = completed === undefined ? undefined : completed - sent.statementsBefore;
  if (index !== undefined && index >= 0 && index < statements.length) return describeFailure(db, error, step, context, statements[index]);
  return describeFailure(db, error, step, context); // at COMMIT (a deferred check), or not counted: the file, no line
}

/**
 * After a failed step its transaction is still open (aborted) unless COMMIT itself failed or nothing was sent. A probe
 * tells which, so ROLLBACK is sent only when needed (otherwise PostgreSQL warns there is no transaction in progress).
 */
async function endFailedTransaction(db: Db): Promise<void> {
  const isOpen = await db.unsafe('select 1').then(() => false, (error: PgError) => error.code === '25P02' || error.code === '57014');
  if (isOpen) await db.unsafe('rollback').catch(() => undefined);
}

/** A statement that failed inside a transaction, with the statement it was. */
class StatementFailure {
  constructor(readonly error: unknown, readonly statement: Statement) {}
}

/**
 * A file as one query inside the open transaction. Throws a StatementFailure naming the statement that failed,
 * counted from those that completed before it (Connection.completedBefore), or the error as it came.
 */
async function runFile(tx: Tx, sql: string, context: RunContext): Promise<void> {
  try {
    await runCancellable(tx, sql, context.signal);
  } catch (error) {
    const e = error as PgError;
    const completed = e.position === undefined ? context.completedBefore?.(e) : undefined;
    const statement = completed === undefined ? undefined : scanSql(sql).statements[completed];
    throw statement ? new StatementFailure(error, statement) : error;
  }
}

/** The whole plan in one transaction: all or nothing. */
async function runAsOneTransaction(db: Db, plan: Plan, context: RunContext): Promise<Step[]> {
  let current: Step | undefined;
  try {
    await db.begin(async (tx) => {
      for (const step of plan.steps) {
        current = step;
        context.onStepStart?.(step);
        const started = performance.now();
        if (context.ddlLockTimeoutMs !== undefined) await setLockTimeout(tx, context.ddlLockTimeoutMs, true);
        await runFile(tx, step.sql, context);
        if (mayChangeSession(step.sql)) await tx.unsafe(renderReset(context.sessionSetup)); // the next file starts from a clean session
        await writeVersion(tx, context.schema, step.from, step.to);
        await recordEvent(tx, context.schema, historyEntry(step, context, Math.round(performance.now() - started)));
        context.onStepRan?.(step, performance.now() - started); // not done: it commits with the whole run, or not at all
        if (context.signal?.aborted) throw new Error('interrupted');
      }
    });
  } catch (thrown) {
    const at = plan.from ?? 'base';
    if (context.signal?.aborted) throw new DbvcError('interrupted', 'interrupted; the single transaction was rolled back', { hint: `the database is still at ${at}` });
    if (!current) throw thrown;
    const failure = thrown instanceof StatementFailure
      ? await describeFailure(db, thrown.error, current, context, thrown.statement)
      : await describeFailure(db, thrown, current, context);
    throw new DbvcError(failure.code, failure.message, { file: failure.file, lines: failure.lines, cause: failure.cause,
      hint: `${failure.hint?.replace(/the migration was rolled back.*$/, '') ?? ''}the single transaction was rolled back: nothing was applied and the database is still at ${at}` });
  }
  return plan.steps;
}

/**
 * A no-transaction step: one statement at a time, each on its own (CREATE INDEX CONCURRENTLY and friends refuse
 * transaction blocks). alembic_version and the history row are written once every statement has run. A failure
 * part-way leaves alembic_version alone and records a 'failed' event naming what ran and what did not.
 */
async function runBare(db: Db, step: Step, context: RunContext, started: number): Promise<void> {
  const statements = scanSql(step.sql).statements;
  if (context.ddlLockTimeoutMs !== undefined) await setLockTimeout(db, context.ddlLockTimeoutMs, false);
  try {
    for (let index = step.skip; index < statements.length; index++) {
      const statement = statements[index];
      try {
        if (context.signal?.aborted) throw new Error('interrupted');
        await withLockRetries(step, context, () => runCancellable(db, sliceOf(step.sql, statement), context.signal));
      } catch (error) {
        throw await recordBareFailure(db, error, step, statements, index, context);
      }
    }
  } finally {
    if (context.ddlLockTimeoutMs !== undefined) await db`reset lock_timeout`.catch(() => undefined);
  }
  await db.begin(async (tx) => {
    if (mayChangeSession(step.sql)) await tx.unsafe(renderReset(context.sessionSetup)); // as for a transactional file
    await writeVersion(tx, context.schema, step.from, step.to);
    await recordEvent(tx, context.schema, historyEntry(step, context, Math.round(performance.now() - started)));
  });
}

async function recordBareFailure(db: Db, error: unknown, step: Step, statements: Statement[], index: number, context: RunContext): Promise<DbvcError> {
  const line = lineOf(step.sql, statements[index].first);
  const ran = index === 0 ? 'no statement ran' : index === 1 ? 'statement 1 ran' : `statements 1-${index} ran`;
  const reason = context.signal?.aborted ? 'interrupted' : (error as Error).message;
  const note = `statement ${index + 1} of ${statements.length} (line ${line}) failed: ${reason}; ${ran}; alembic_version was left at ${step.from ?? 'base'}`;
  const entry: HistoryEntry = { ...historyEntry(step, context, null), event: 'failed', note, failedStatement: index + 1 };
  await recordEvent(db, context.schema, entry).catch(() => undefined); // the server may be gone; the error says so
  if (context.signal?.aborted) {
    return new DbvcError('interrupted', `interrupted in ${step.file} (no-transaction) before statement ${index + 1} of ${statements.length}: ${ran}`, {
      hint: index === 0 ? `the database is at ${step.from ?? 'base'}` : 'dbvc status shows how to finish it (--resume, stamp or --restart)',
    });
  }
  const failure = await describeFailure(db, error, step, context, statements[index]);
  const invalid = await findInvalidIndexes(db, sliceOf(step.sql, statements[index]));
  const cleanUp = invalid.length === 0 ? '' : `the failed build left the INVALID index ${invalid.join(', ')}: drop it first (${invalid.map((i) => `DROP INDEX CONCURRENTLY ${i};`).join(' ')}), then `;
  const next = index === 0
    ? `nothing else ran; the database is at ${step.from ?? 'base'}${cleanUp ? `; ${cleanUp}run the command again` : ''}`
    : `${ran} and ${index === 1 ? "stays" : "stay"} applied; ${cleanUp}fix the file and run dbvc ${step.direction === 'up' ? 'upgrade' : 'downgrade'} --resume (dbvc status lists the other ways out)`;
  return new DbvcError(failure.code, failure.message, { file: failure.file, lines: [...failure.lines, `statement ${index + 1} of ${statements.length}; ${ran}`], cause: error, hint: next });
}

/**
 * A CREATE INDEX CONCURRENTLY that fails leaves its index behind, INVALID, and running the statement again then fails
 * on "already exists": the invalid indexes the statement names, schema-qualified.
 */
async function findInvalidIndexes(db: Db, statement: string): Promise<string[]> {
  if (!/\bconcurrently\b/i.test(statement) || !/\bindex\b/i.test(statement)) return [];
  const rows = await db`
    select n.nspname, c.relname from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
    where not i.indisvalid and n.nspname not in ('pg_catalog', 'pg_toast') order by 1, 2`.catch(() => []);
  const text = statement.toLowerCase();
  return rows.filter((r) => text.includes(String(r.relname).toLowerCase())).map((r) => `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`.replace(/"([a-z_][a-z0-9_]*)"/g, '$1'));
}

/** Retries a step (or one no-transaction statement) that hit lock_timeout, pausing 1 s, 2 s, 4 s, ... */
async function withLockRetries<T>(step: Step, context: RunContext, attempt: () => Promise<T>): Promise<T> {
  const retries = context.ddlLockRetries ?? 0;
  for (let tried = 0; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isLockTimeout(error) || tried >= retries || context.signal?.aborted) throw error;
      const pause = retryPause(tried);
      context.onRetry?.(step, tried + 1, pause);
      await delay(pause, undefined, { signal: context.signal }).catch(() => undefined); // an abort ends the pause
    }
  }
}

/** 1 s, 2 s, 4 s, ... at most 30 s. */
function retryPause(tried: number): number {
  return Math.min(1000 * 2 ** tried, 30_000);
}

function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string })?.code === LOCK_NOT_AVAILABLE;
}

function historyEntry(step: Step, context: RunContext, durationMs: number | null): HistoryEntry {
  return { ...recordStep(step), runId: context.runId, clientHost: context.clientHost, durationMs, dbvcVersion: context.dbvcVersion };
}

function interrupted(when: string, at: string | null): DbvcError {
  return new DbvcError('interrupted', `interrupted ${when}`, { hint: `the database is at ${at ?? 'base'}; run the command again to continue` });
}

interface PgError {
  code?: string;
  severity?: string;
  message?: string;
  detail?: string;
  hint?: string;
  where?: string;
  position?: string;
  schema_name?: string;
  table_name?: string;
}

/**
 * Turns a server error into file:line:column, the line with a caret, and SQLSTATE, detail and hint. `statement` is
 * the one that failed (each is sent as its own query); without it (a deferred check failing at COMMIT) no line is named.
 */
export async function describeFailure(db: Db, error: unknown, step: Step, context: RunContext, statement?: Statement): Promise<DbvcError> {
  if (error instanceof DbvcError) return error;
  const e = error as PgError;
  const isServerError = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity !== undefined;
  if (!isServerError) return lostConnection(error, step);
  const location = locate(step.sql, e.position, statement);
  const lines = [...location.lines, `SQLSTATE ${e.code}`];
  if (e.detail) lines.push(`detail: ${e.detail}`);
  if (e.where) lines.push(`context: ${e.where.split('\n')[0]}`);
  if (isLockTimeout(error)) lines.push(...await describeLockWait(db, context));
  return new DbvcError('sql', `${step.file}${location.suffix}: ${e.message}`, {
    file: step.file,
    lines,
    hint: (e.hint ? `${e.hint}; ` : '') + `the migration was rolled back and the database is at ${step.from ?? 'base'}`,
    cause: error,
  });
}

/** The migration ran, but recording it failed (25P02 means the migration itself failed first). */
function bookkeepingFailure(error: unknown, step: Step, cause = ''): DbvcError {
  const e = error as PgError;
  return new DbvcError('sql', `${step.file} ran, but recording it in alembic_version and dbvc_history failed: ${e.message}`, {
    file: step.file,
    lines: e.code ? [`SQLSTATE ${e.code}`] : [],
    hint: `${cause}both were rolled back together, so the database is still at ${step.from ?? 'base'}${cause ? '' : '; check the bookkeeping tables (dbvc status)'}`,
    cause: error,
  });
}

function lostConnection(error: unknown, step: Step): DbvcError {
  const message = (error as Error)?.message ?? String(error);
  return new DbvcError('connect', `lost the connection while running ${step.file}: ${message}`, {
    file: step.file,
    hint: `the transaction was not committed, so the database should still be at ${step.from ?? 'base'}; run dbvc status once the server is reachable`,
    cause: error,
  });
}

/** The statement's text as sent: from after the previous ';' through its own. */
function sliceOf(sql: string, statement: Statement): string {
  return sql.slice(statement.start, statement.end);
}

function locate(sql: string, position: string | undefined, statement: Statement | undefined): { suffix: string; lines: string[] } {
  if (position) {
    const offset = statement ? Array.from(sql.slice(0, statement.start)).length : 0;
    const point = locateOffset(sql, offset + Number(position));
    return { suffix: `:${point.line}:${point.column}`, lines: excerpt(point) };
  }
  if (!statement) return { suffix: '', lines: [] };
  const point = locateOffset(sql, Array.from(sql.slice(0, statement.first)).length + 1);
  return { suffix: `:${point.line}`, lines: [`${point.line} | ${point.text}`] };
}

async function describeLockWait(db: Db, context: RunContext): Promise<string[]> {
  const waited = `waited ${(context.ddlLockTimeoutMs ?? 0) / 1000} s for a lock${context.ddlLockRetries ? `, ${context.ddlLockRetries + 1} attempts` : ''}`;
  const holders = await findLockHolders(db).catch(() => []);
  return [waited, ...holders.map((h) => `lock held by pid ${h.pid} (${h.application || '?'}, ${h.state}, transaction open since ${h.since.toISOString()}) on ${h.relations.join(', ')}`)];
}

