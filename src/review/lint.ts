// Runs squawk (the squawk-cli package's binary) on migration files, told each file's real transaction mode.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { DbvcError } from '../core/errors.js';
import { readSquawkRows, type SquawkRow } from '../core/findings.js';
import type { Finding } from '../core/review.js';

export interface LintFile {
  path: string; // as shown, relative to root
  noTransaction: boolean;
}

export interface LintOptions {
  root: string;
  pgVersion: string; // the scratch server's, e.g. 17.10
  setsLockTimeout: boolean; // the run sets lock_timeout (--ddl-lock-timeout): squawk's require-lock-timeout does not apply
}

// A variable, not a literal, so the bundler leaves squawk-cli where npm put it (it finds its platform binary itself).
const SQUAWK_MODULE = 'squawk-cli/js/index.js';

/**
 * squawk's findings on the files, 1-based. Transactional files are linted with --assume-in-transaction, the
 * others without. Throws a 'lint' DbvcError when squawk cannot run or its output is not its JSON: review then
 * fails rather than look clean.
 */
export async function lintFiles(files: LintFile[], options: LintOptions): Promise<Finding[]> {
  const binary = await findSquawk();
  const findings: Finding[] = [];
  for (const inTransaction of [true, false]) {
    const group = files.filter((f) => f.noTransaction !== inTransaction);
    if (group.length === 0) continue;
    const args = ['--reporter', 'json', '--pg-version', options.pgVersion];
    if (inTransaction) args.push('--assume-in-transaction');
    if (options.setsLockTimeout) args.push('--exclude', 'require-lock-timeout');
    const byPath = new Map(group.map((f) => [resolve(options.root, f.path), f.path]));
    const rows = await runSquawk(binary, [...args, ...byPath.keys()], options.root);
    findings.push(...readSquawkRows(rows, (path) => byPath.get(resolve(options.root, path)) ?? path));
  }
  return findings;
}

async function findSquawk(): Promise<string> {
  try {
    const loaded = (await import(SQUAWK_MODULE)) as { default?: { getBinaryPath(): string }; getBinaryPath?: () => string };
    return (loaded.default ?? (loaded as { getBinaryPath(): string })).getBinaryPath();
  } catch (error) {
    throw new DbvcError('lint', `squawk (the squawk-cli package) cannot be found: ${(error as Error).message.split('\n')[0]}`, {
      hint: 'install dbvc with its dependencies (npm install, optional dependencies included); review does not run without its linter',
      cause: error,
    });
  }
}

// squawk exits 1 when it found something and prints its JSON either way; anything else is a failure to run.
function runSquawk(binary: string, args: string[], cwd: string): Promise<SquawkRow[]> {
  return new Promise((done, fail) => {
    execFile(binary, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code ?? 0;
      try {
        if (code !== 0 && code !== 1) throw new Error(`exit ${String(code)}`);
        const rows = JSON.parse(stdout) as SquawkRow[];
        if (!Array.isArray(rows)) throw new Error('its output is not a JSON array');
        done(rows);
      } catch (problem) {
        const said = stderr.trim().split('\n')[0] || stdout.trim().split('\n')[0] || '';
        fail(new DbvcError('lint', `squawk did not run: ${(problem as Error).message}${said ? `: ${said}` : ''}`, {
          hint: 'review needs its linter; fix or reinstall squawk-cli (npm install), then review again',
          cause: error ?? problem,
        }));
      }
    });
  });
}
