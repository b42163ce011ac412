// Terminal output: results to stdout, diagnostics to stderr, colours only on a TTY; the only module that writes.
import pc from 'picocolors';
import type { Reporter } from './api.js';
import { DbvcError } from './core/errors.js';
import type { Step } from './core/plan.js';

export interface Log extends Reporter {
  result(line: string): void;
  json(value: unknown): void;
  /** Writes text to stdout as is (an offline script: never rewritten, not even by the secret scrubber). */
  raw(text: string): void;
  error(error: unknown): void;
  addSecret(secret: string): void;
  colors: ReturnType<typeof pc.createColors>;
  /** A database's progress in a fleet run: one whole line per event on stderr, each starting with `prefix`. */
  prefixed(prefix: string): Reporter & { error(error: unknown): void };
}

export interface LogOptions {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  color: boolean;
  secrets: string[]; // scrubbed from every line, whatever path a password takes into a message
}

export function createLog(options: LogOptions): Log {
  const c = pc.createColors(options.color);
  const scrub = (text: string) => redact(text, options.secrets);
  const isLive = options.stdout.isTTY === true;
  // On a terminal a step's line is written when it starts and finished with its time; anything printed in between
  // (a server notice, an error) first ends that line, and the step's line is then written again when it is done.
  let isLineOpen = false;
  const endOpenLine = () => {
    if (!isLineOpen) return;
    options.stdout.write('\n');
    isLineOpen = false;
  };
  const out = (line: string): void => {
    endOpenLine();
    options.stdout.write(scrub(line) + '\n');
  };
  const err = (line: string): void => {
    endOpenLine();
    options.stderr.write(scrub(line) + '\n');
  };
  const stepDone = (step: Step, ms: number, note = '') => {
    const time = c.dim(`(${formatMs(ms)}${note})`);
    if (!isLineOpen) return out(`${stepLine(step, c)} ${time}`);
    options.stdout.write(` ${time}\n`);
    isLineOpen = false;
  };
  return {
    colors: c,
    addSecret: (secret) => options.secrets.push(secret, encodeURIComponent(secret)),
    result: out,
    json: (value) => out(JSON.stringify(value, null, 2)),
    raw: (text) => void options.stdout.write(text),
    info: (line) => err(c.dim(line)),
    notice: (message) => err(`${c.cyan('server')} ${message}`),
    stepStart(step: Step) {
      if (!isLive) return;
      endOpenLine();
      options.stdout.write(scrub(stepLine(step, c)));
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

function stepLine(step: Step, c: ReturnType<typeof pc.createColors>): string {
  const arrow = step.direction === 'up' ? c.green('up  ') : c.yellow('down');
  return `${arrow} ${step.migration.stem}  ${c.dim(`${step.from ?? 'base'} -> ${step.to ?? 'base'}`)}`;
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

/** Masks the password of any URL and every known secret in a line of output. */
export function redact(text: string, secrets: string[]): string {
  const mask = (match: string, head: string, password: string) => (PLACEHOLDERS.has(password) ? match : `${head}***@`);
  // bounded repetitions keep this linear on very long lines (an 80 KB line took seconds unbounded)
  let result = text.includes('://') ? text.replace(/([a-z][a-z0-9+.-]{0,30}:\/\/[^:/?#\s@]{0,256}:)([^@\s/]{0,1024})@/gi, mask) : text;
  for (const secret of secrets) {
    if (secret.length >= 3) result = result.split(secret).join('***');
  }
  return result;
}
