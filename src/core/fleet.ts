// Pure fleet rules: a URL list file's lines, and which failure of many decides the exit code.
import { DbvcError, EXIT_CODES, isDbvcError, type ErrorCode } from './errors.js';

export interface ListedUrl {
  line: number; // 1-based, for messages that point into the file
  url: string;
}

/**
 * The URLs of a list file: one per line; blank lines and lines starting with # are skipped, surrounding spaces
 * dropped. A URL listed twice is an error naming both lines (two runs would only queue on one lock).
 * Messages never quote a line: it holds a password.
 */
export function parseUrlList(text: string, label: string): ListedUrl[] {
  const urls: ListedUrl[] = [];
  const seen = new Map<string, number>();
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const url = raw.trim();
    if (url === '' || url.startsWith('#')) continue;
    const line = index + 1;
    const earlier = seen.get(url);
    if (earlier !== undefined) {
      throw new DbvcError('config', `${label}:${line} lists the same database as line ${earlier}`, { file: label, hint: 'list each database once' });
    }
    seen.set(url, line);
    urls.push({ line, url });
  }
  if (urls.length === 0) {
    throw new DbvcError('config', `${label} lists no database`, { file: label, hint: 'write one postgres:// URL per line (# starts a comment)' });
  }
  return urls;
}

export type FailureKind = ErrorCode | 'internal';

/**
 * Most serious first: the exit code of a fleet run is the code of the first kind here that any database hit.
 * An interruption outranks everything (the run did not finish); a bug in dbvc next; then a migration that failed
 * (a database may be half-way through a deploy), or a rehearsal, linter or schema engine that failed (exit 1 as well);
 * then the kinds that moved nothing: unreachable, locked, refused
 * state, and last mistakes in what was typed or configured.
 */
export const SEVERITY: FailureKind[] = ['interrupted', 'internal', 'sql', 'lint', 'engine', 'connect', 'lock', 'state', 'check', 'irreversible', 'file', 'config', 'usage'];

export const INTERNAL_EXIT_CODE = 70;

export function exitCodeOf(kind: FailureKind): number {
  return kind === 'internal' ? INTERNAL_EXIT_CODE : EXIT_CODES[kind];
}

/** The failure kind of whatever a run threw. */
export function failureKind(error: unknown): FailureKind {
  return isDbvcError(error) ? error.code : 'internal';
}

/** 0 when nothing failed, else the exit code of the most serious kind among `kinds`. */
export function worstExitCode(kinds: FailureKind[]): number {
  if (kinds.length === 0) return 0;
  const worst = kinds.reduce((a, b) => (SEVERITY.indexOf(a) <= SEVERITY.indexOf(b) ? a : b));
  return exitCodeOf(worst);
}

/**
 * The failure kind a finished read-only run stands for by its own exit code (review, check, drift): 3 (findings,
 * differences, drift) as a failed check, 1 (a rehearsal that failed on the scratch database) as a failed migration.
 */
export function verdictKind(exitCode: number): FailureKind | null {
  if (exitCode === 0) return null;
  if (exitCode === EXIT_CODES.check) return 'check';
  if (exitCode === EXIT_CODES.sql) return 'sql';
  return 'internal';
}
