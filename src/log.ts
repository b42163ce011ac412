// Terminal output: results to stdout, diagnostics to stderr, colours only on a TTY; the only module that writes.
import pc from 'picocolors';
import type { Reporter } from './api.js';
import { DbvcError } from './core/errors.js';
import { decideVerdict, LOCK_MODES as MODES } from './core/findings.js';
import type { Step } from './core/plan.js';
import type { ReviewReport, Severity, TracedStatement } from './core/review.js';

export interface Log extends Reporter {
  result(line: string): void;
  json(value: unknown): void;
  /** Writes text to stdout as is (an offline script: never rewritten, not even by the secret scrubber). */
  raw(text: string): void;
  error(error: unknown): void;
  colors: ReturnType<typeof pc.createColors>;
  /** A database's progress in a fleet run: one whole line per event on stderr, each starting with `prefix`. */
  prefixed(prefix: string): Reporter & { error(error: unknown): void };
}

export interface LogOptions {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  color: boolean;
}

export function createLog(options: LogOptions): Log {
  const c = pc.createColors(options.color);
  const scrub = redact;
  const isLive = options.stdout.isTTY === true;
  // On a terminal a step's line is written when it starts and finished with its time; anything printed in between
  // (a server notice, an error) first ends that line, and the step's line is then written again when it is done.
  let isLineOpen = false;
  const write = queueWrites();
  const endOpenLine = () => {
    if (!isLineOpen) return;
    write(options.stdout, '\n');
    isLineOpen = false;
  };
  const out = (line: string): void => {
    endOpenLine();
    write(options.stdout, scrub(line) + '\n');
  };
  const err = (line: string): void => {
    endOpenLine();
    write(options.stderr, scrub(line) + '\n');
  };
  // In a log (not a terminal) a long step would show nothing until it ends: one still running after STILL_RUNNING_MS
  // says so on stderr, with when it started. A line for every start would double a log of a thousand fast steps.
  let slow: NodeJS.Timeout | undefined;
  const sayWhenSlow = (step: Step) => {
    const started = new Date();
    clearTimeout(slow);
    slow = setTimeout(() => err(`${stepLine(step, c)} ${c.dim(`started ${started.toISOString()}, still running`)}`), STILL_RUNNING_MS);
    slow.unref();
  };
  const stepDone = (step: Step, ms: number, note = '') => {
    clearTimeout(slow);
    const time = c.dim(`(${formatMs(ms)}${note})`);
    if (!isLineOpen) return out(`${stepLine(step, c)} ${time}`);
    write(options.stdout, ` ${time}\n`);
    isLineOpen = false;
  };
  return {
    colors: c,
    result: out,
    json: (value) => out(JSON.stringify(value, null, 2)),
    raw: (text) => write(options.stdout, text),
    info: (line) => err(c.dim(line)),
    notice: (message) => err(`${c.cyan('server')} ${message}`),
    stepStart(step: Step) {
      if (!isLive) return sayWhenSlow(step);
      endOpenLine();
      write(options.stdout, scrub(stepLine(step, c)));
      isLineOpen = true;
    },
    stepDone: (step: Step, ms: number) => stepDone(step, ms),
    stepRan: (step: Step, ms: number) => stepDone(step, ms, '; commits with the whole run'),
    retry(step: Step, attempt: number, pauseMs: number) {
      err(`${c.yellow('lock timeout')} in ${step.file}; retrying in ${formatMs(pauseMs)} (retry ${attempt})`);
    },
    error: (error) => printError(error, err, c),
    prefixed(prefix: string) {
      const line = (text: string) => err(`${c.bold(prefix)} ${text}`);
      const step = (s: Step, ms: number, note = '') => line(`${stepLine(s, c)} ${c.dim(`(${formatMs(ms)}${note})`)}`);
      return {
        info: (text) => line(c.dim(text)),
        notice: (message) => line(`${c.cyan('server')} ${message}`),
        stepDone: (s: Step, ms: number) => step(s, ms),
        stepRan: (s: Step, ms: number) => step(s, ms, '; commits with the whole run'),
        retry: (s: Step, attempt: number, pauseMs: number) => line(`${c.yellow('lock timeout')} in ${s.file}; retrying in ${formatMs(pauseMs)} (retry ${attempt})`),
        error: (error: unknown) => printError(error, line, c),
      };
    },
  };
}

/**
 * Text written within one turn of the event loop leaves in one write per stream, in the order it was given: a run of
 * a thousand fast migrations otherwise makes two thousand blocking writes to a log's pipe (issue 12, bench W1 and W3).
 * Nothing waits longer than that turn, so a long step's line is out while the server runs it.
 */
const STILL_RUNNING_MS = 1000;

function queueWrites(): (stream: NodeJS.WritableStream, text: string) => void {
  const queue: [NodeJS.WritableStream, string][] = [];
  const flush = () => {
    for (let i = 0; i < queue.length;) {
      const stream = queue[i][0];
      let text = '';
      while (i < queue.length && queue[i][0] === stream) text += queue[i++][1];
      stream.write(text);
    }
    queue.length = 0;
  };
  return (stream, text) => {
    if (queue.length === 0) setImmediate(flush);
    queue.push([stream, text]);
  };
}

function stepLine(step: Step, c: ReturnType<typeof pc.createColors>): string {
  const arrow = step.direction === 'up' ? c.green('up  ') : c.yellow('down');
  return `${arrow} ${step.migration.stem}  ${c.dim(`${step.from ?? 'base'} -> ${step.to ?? 'base'}`)}`;
}

/** Rows of cells as lines, each column padded to its widest cell and two spaces apart; trailing blanks dropped. */
export function alignColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function printError(error: unknown, err: (line: string) => void, c: ReturnType<typeof pc.createColors>): void {
  if (error instanceof DbvcError) {
    err(`${c.red(c.bold('error'))} ${error.message}`);
    for (const line of error.lines) err(`  ${line}`);
    if (error.hint) err(`${c.yellow('hint')} ${error.hint}`);
    return;
  }
  const e = error as Error;
  err(`${c.red(c.bold('internal error'))} ${e?.message ?? String(error)}`);
  if (e?.stack) err(c.dim(e.stack));
  err(`${c.yellow('hint')} this is a bug in dbvc; please report it with the lines above`);
}

const PLACEHOLDERS = new Set(['password', 'PASSWORD', '***']); // as in our own hints and examples

/**
 * Masks the password of any URL in a line of output, and nothing else: a password that is also an ordinary word
 * ("postgres") stays visible where it is only that word. The password runs to the last @ before the host, since an
 * unencoded @ or # in it belongs to it.
 */
export function redact(text: string): string {
  if (!text.includes('://')) return text;
  const mask = (match: string, head: string, password: string) => (PLACEHOLDERS.has(password) ? match : `${head}***@`);
  // bounded repetitions keep this linear on very long lines (an 80 KB line took seconds unbounded)
  return text.replace(/([a-z][a-z0-9+.-]{0,30}:\/\/[^:/?#\s@]{0,256}:)([^\s/]{0,1024})@/gi, mask);
}

/** A review on a terminal: per migration its verdict line, schema changes, traced statements, down check, findings. */
export function printReview(log: Log, report: ReviewReport, failOn: Severity): void {
  const c = log.colors;
  const word = { ok: c.green('ok'), findings: c.yellow('findings'), failed: c.red(c.bold('FAILED')) };
  for (const m of report.migrations) {
    const took = m.up.statements.reduce((sum, s) => sum + s.ms, 0);
    const down = m.down.reverts === true ? 'down reverts' : m.down.reverts === false ? c.red('down does not revert') : `down ${m.down.skipped ?? 'not checked'}`;
    log.result(`${word[decideVerdict([m], failOn)]}  ${m.version}_${m.name}  ${c.dim(`${m.transaction ? 'transaction' : 'no-transaction'}, ${m.up.statements.length} statement${m.up.statements.length === 1 ? '' : 's'}, ${formatMs(took)}; ${down}`)}`);
    if (m.skipped) log.result(`  ${m.skipped}`);
    for (const change of m.changes) log.result(`  ${changeSign(change.change)} ${change.kind} ${change.name}${change.detail ? c.dim(`  ${change.detail}`) : ''}`);
    for (const s of m.up.statements) printStatement(log, m.file, s);
    if (m.down.file) for (const s of m.down.statements) printStatement(log, m.down.file, s);
    // which run failed matters: a reapply that fails after a down that ran means the down leaves something behind
    const failures = [['up failed', m.up.error], ['down failed', m.down.error], ['up failed again after the down', m.reapply.error]] as const;
    for (const [what, failure] of failures) {
      if (failure) log.result(`  ${c.red(what)} ${failure.file}${failure.line === null ? '' : `:${failure.line}`}: ${failure.message}${failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : ''}`);
    }
    for (const d of m.down.differences) log.result(`  ${c.red('not reverted')} ${changeSign(d.change)} ${d.kind} ${d.name}${d.detail ? c.dim(`  ${d.detail}`) : ''}`);
    for (const f of m.findings) {
      const colour = f.severity === 'error' ? c.red : f.severity === 'warning' ? c.yellow : c.cyan;
      log.result(`  ${colour(f.severity)} ${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}`);
      if (f.help) log.result(`    ${c.dim(`help: ${f.help}`)}`);
    }
  }
  if (report.migrations.length === 0) return log.result(`nothing to review: no migration after ${report.range.from ?? 'base'}`);
  const scratch = `PostgreSQL ${report.scratch.server_version}${report.scratch.embedded ? ' (embedded)' : ''}`;
  const count = `${report.migrations.length} migration${report.migrations.length === 1 ? '' : 's'}`;
  log.result(`review ${report.range.from ?? 'base'} -> ${report.range.to ?? 'base'}: ${word[report.verdict]} (${count}, scratch ${scratch})`);
}

function printStatement(log: Log, file: string, s: TracedStatement): void {
  const c = log.colors;
  const first = s.sql.split('\n')[0];
  const shown = first.length > 60 ? `${first.slice(0, 59)}…` : first;
  const locks = strongestLocks(s).map((l) => `${l.mode === 'AccessExclusiveLock' ? c.red(l.mode) : l.mode} ${l.relation}`);
  if (s.locks_observed === false) locks.push('locks not observable (outside a transaction)');
  const rewrites = s.rewrites.length > 0 ? `; ${c.red('rewrites')} ${s.rewrites.join(', ')}` : '';
  const ms = s.ms < 10 ? `${s.ms.toFixed(1)} ms` : formatMs(s.ms);
  log.result(`  ${c.dim(`${file}:${s.line}`)} ${shown}  ${c.dim(ms)}${locks.length > 0 ? `\n      ${locks.join(', ')}` : ''}${rewrites}`);
}

// On a terminal one lock per relation, its strongest (the JSON keeps them all).
function strongestLocks(s: TracedStatement): TracedStatement['locks'] {
  const strongest = new Map<string, string>();
  for (const lock of s.locks) {
    const held = strongest.get(lock.relation);
    if (!held || MODES.indexOf(lock.mode) > MODES.indexOf(held)) strongest.set(lock.relation, lock.mode);
  }
  return [...strongest].map(([relation, mode]) => ({ relation, mode }));
}

function changeSign(change: string): string {
  return change === 'added' ? '+' : change === 'removed' ? '-' : '~';
}
