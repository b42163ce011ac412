// Carries out a Plan on one connection: each step's SQL, version move and history row in one transaction.
import { DbvcError, excerpt, locateOffset } from './core/errors.js';
import { recordStep } from './core/ledger.js';
import { scanSql } from './core/lexer.js';
import type { Plan, Step } from './core/plan.js';
import { recordEvent, writeVersion, type Db, type HistoryEntry } from './store.js';

export interface RunContext {
  schema: string;
  runId: string;
  clientHost: string;
  dbvcVersion: string;
  signal?: AbortSignal;
  onStepStart?(step: Step): void;
  onStepDone?(step: Step, ms: number): void;
}

/**
 * Runs the steps in order, each in its own transaction. A failing step is rolled back alone and the run stops
 * there with a 'sql' DbvcError (or 'interrupted' after the signal fired): earlier steps stay committed.
 */
export async function runPlan(db: Db, plan: Plan, context: RunContext): Promise<Step[]> {
  const done: Step[] = [];
  for (const step of plan.steps) {
    if (context.signal?.aborted) throw interrupted(`before ${step.migration.stem}`, step.from);
    context.onStepStart?.(step);
    const started = performance.now();
    try {
      await runStep(db, step, context, started);
    } catch (error) {
      if (context.signal?.aborted) throw interrupted(`while running ${step.file}; it was rolled back`, step.from);
      throw describeFailure(error, step);
    }
    done.push(step);
    context.onStepDone?.(step, performance.now() - started);
  }
  return done;
}

async function runStep(db: Db, step: Step, context: RunContext, started: number): Promise<void> {
  await db.begin(async (tx) => {
    const query = tx.unsafe(step.sql);
    const cancel = () => query.cancel();
    context.signal?.addEventListener('abort', cancel, { once: true });
    try {
      if (context.signal?.aborted) throw new Error('interrupted'); // it fired before the listener was added
      await query;
    } finally {
      context.signal?.removeEventListener('abort', cancel);
    }
    await writeVersion(tx, context.schema, step.from, step.to);
    await recordEvent(tx, context.schema, historyEntry(step, context, Math.round(performance.now() - started)));
    if (context.signal?.aborted) throw new Error('interrupted');
  });
}

function historyEntry(step: Step, context: RunContext, durationMs: number): HistoryEntry {
  return { ...recordStep(step), runId: context.runId, clientHost: context.clientHost, durationMs, dbvcVersion: context.dbvcVersion, note: null };
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
}

/** Turns a server error into file:line:column, the line with a caret, and SQLSTATE, detail and hint. */
export function describeFailure(error: unknown, step: Step): DbvcError {
  if (error instanceof DbvcError) return error;
  const e = error as PgError;
  const isServerError = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity !== undefined;
  if (!isServerError) {
    return new DbvcError('connect', `lost the connection while running ${step.file}: ${e.message ?? String(error)}`, {
      file: step.file,
      hint: `the transaction was not committed, so the database should still be at ${step.from ?? 'base'}; run dbvc status once the server is reachable`,
      cause: error,
    });
  }
  const location = locateError(step.sql, e.position);
  const lines = [...location.lines, `SQLSTATE ${e.code}`];
  if (e.detail) lines.push(`detail: ${e.detail}`);
  if (e.where) lines.push(`context: ${e.where.split('\n')[0]}`);
  return new DbvcError('sql', `${step.file}${location.suffix}: ${e.message}`, {
    file: step.file,
    lines,
    hint: (e.hint ? `${e.hint}; ` : '') + `the migration was rolled back and the database is at ${step.from ?? 'base'}`,
    cause: error,
  });
}

function locateError(sql: string, position: string | undefined): { suffix: string; lines: string[] } {
  if (position) {
    const point = locateOffset(sql, Number(position));
    return { suffix: `:${point.line}:${point.column}`, lines: excerpt(point) };
  }
  const statements = scanSql(sql).statements;
  if (statements.length !== 1) return { suffix: '', lines: [] };
  const first = statements[0].first;
  const point = locateOffset(sql, Array.from(sql.slice(0, first)).length + 1);
  return { suffix: `:${point.line}`, lines: [`${point.line} | ${point.text}`] };
}
