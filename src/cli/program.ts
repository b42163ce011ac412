// The CLI's shared parts: the sade program, the options commands share, and argv -> Config. Each file beside it
// defines one family of commands on this program; ../cli.ts parses and runs.
import { relative, resolve } from 'node:path';
import sade from 'sade';
import type { Config, Flags } from '../config.js';
import type { FleetCommand } from '../fleet/present.js';
import type { Log } from '../log.js';
import { findProjectRoot } from '../project.js';
import { VERSION } from '../version.js';

// The api (and with it postgres.js) loads only when a command runs, so --help and --version start fast.
export const loadApi = () => import('../api.js');

export interface Options extends Flags {
  json?: boolean;
  color?: boolean;
  'exit-code'?: boolean;
  purge?: boolean;
  sql?: boolean;
  out?: string;
  resume?: boolean;
  restart?: boolean;
  'allow-out-of-order'?: boolean;
  'single-transaction'?: boolean;
  'ddl-lock-timeout'?: string;
  'ddl-lock-retries'?: string | number;
  'lock-timeout'?: string;
  wait?: boolean;
  'wait-timeout'?: string;
  'scratch-url'?: string;
  'fail-on'?: string;
  'since-git'?: string;
  html?: string;
  all?: boolean;
  'urls-file'?: string;
  parallel?: string;
  'keep-going'?: boolean;
  canary?: string;
  autogenerate?: boolean;
  stamp?: boolean;
  'from-url'?: string;
  _: string[];
}

export type Action = (log: Log, options: Options, signal: AbortSignal, ...args: string[]) => Promise<number | void>;

export const prog = sade('dbvc').version(VERSION)
  .option('--no-color', 'Plain output (also when NO_COLOR is set or output is not a terminal)');

/** The target options, added to the command being defined; with a server, also the connection's. */
export function addTargetOptions(withServer: boolean): void {
  prog.option('--db', 'Target: migrations in sql/NAME/, settings in envs/NAME.env (default local)')
    .option('--dir', 'Migrations folder instead of sql/NAME/');
  if (!withServer) return;
  prog.option('--url', 'Database URL; overrides the env file and DATABASE_URL ("embedded" runs a local server)')
    .option('--schema', 'Schema holding alembic_version and dbvc_history (default public)')
    .option('--lock-timeout', 'How long to wait for another run to finish (default 30s)')
    .option('--wait', 'Wait for a server that refuses connections or is starting up (a container), retrying each second')
    .option('--wait-timeout', 'How long --wait waits (default 60s; implies --wait)');
}

/** What each option's value looks like, shown beside it in --help (sade's own option syntax has no room for it). */
const VALUE_PLACEHOLDERS: Record<string, string> = {
  '--db': 'NAME', '--url': 'URL', '--dir': 'PATH', '--schema': 'NAME', '--lock-timeout': 'DURATION', '--out': 'FILE|DIR/', '--html': 'FILE|DIR/',
  '--ddl-lock-timeout': 'DURATION', '--ddl-lock-retries': 'N', '--wait-timeout': 'DURATION', '--from-url': 'URL',
};

/** Where one command's option takes other values than the same option elsewhere. */
const COMMAND_PLACEHOLDERS: Record<string, Record<string, string>> = { dump: { '--out': 'FILE|-' } };

export function addValuePlaceholders(): void {
  const tree = (prog as unknown as { tree: Record<string, { options?: string[][] } | string> }).tree;
  for (const [name, command] of Object.entries(tree)) {
    if (typeof command === 'string') continue;
    for (const option of command.options ?? []) {
      const placeholder = COMMAND_PLACEHOLDERS[name]?.[option[0]] ?? VALUE_PLACEHOLDERS[option[0]];
      if (placeholder) option[0] = `${option[0]} ${placeholder}`;
    }
  }
}

/** The options upgrade and downgrade share, added to the command being defined. */
export function addMoveOptions(): void {
  prog.option('--sql', 'Print the SQL script instead of running it (no database connection)')
    .option('--out', 'With --sql: write the script to FILE, or one file per migration into DIR/ (relative to the current folder)')
    .option('--single-transaction', 'Run the whole plan in one transaction: all or nothing')
    .option('--ddl-lock-timeout', 'lock_timeout for each migration (or DBVC_DDL_LOCK_TIMEOUT in the env file; off by default)')
    .option('--ddl-lock-retries', 'Retry a migration that hit the lock timeout N times, pausing 1 s, 2 s, 4 s, ...')
    .option('--resume', 'Continue a no-transaction migration that stopped part-way, from its failed statement')
    .option('--restart', 'Run such a migration again from its first statement (after undoing what ran by hand)');
}

/** The fleet options of status, current, upgrade, downgrade, review, check and drift (README: Fleets). */
export function addFleetOptions(canMove: boolean): void {
  prog.option('--all', 'Every target that has both sql/<db>/ and envs/<db>.env (--db a,b names some)')
    .option('--urls-file', 'A file listing the target\'s databases, one URL per line (or DBVC_URLS_FILE in the env file)')
    .option('--parallel', 'Databases at once in a fleet run (default 4)');
  if (!canMove) return;
  prog.option('--keep-going', 'Fleet: start every database even after one failed (default: stop starting new ones)')
    .option('--canary', 'Fleet: run the first N databases first, and the rest only if they all succeeded');
}

/** One write per ~256 kB rather than per migration: a thousand small writes to a pipe or file cost ~30 ms. */
export function writeInChunks(log: Log, texts: string[]): void {
  let chunk = '';
  for (const text of texts) {
    chunk += text;
    if (chunk.length >= 256 * 1024) {
      log.raw(chunk);
      chunk = '';
    }
  }
  if (chunk) log.raw(chunk);
}

/**
 * A fleet run (a fleet option, or a target whose env file lists its databases) returns its exit code; otherwise
 * the one database's config, for the command as it always ran.
 */
export async function singleOrFleet(log: Log, o: Options, signal: AbortSignal, command: FleetCommand, needsServer = true): Promise<{ code: number } | { config: Config }> {
  const { wantsFleet, runFleetCommand } = await import('../fleet/present.js');
  if (!wantsFleet(o)) {
    const config = await configure(log, o, needsServer);
    if (!config.urlsFile) return { config };
  }
  return { code: await runFleetCommand(log, o, flagsOf(o), signal, command, projectRoot(log)) };
}

export function flagsOf(o: Options): Flags {
  return {
    db: o.db, url: o.url, dir: o.dir === undefined ? undefined : resolve(String(o.dir)), schema: o.schema, lockTimeout: o['lock-timeout'],
    ddlLockTimeout: o['ddl-lock-timeout'], ddlLockRetries: o['ddl-lock-retries'] === undefined ? undefined : String(o['ddl-lock-retries']),
    wait: Boolean(o.wait), waitTimeout: o['wait-timeout'],
  };
}

export async function configure(log: Log, o: Options, needsServer = true): Promise<Config> {
  const { resolveConfig } = await import('../config.js');
  return resolveConfig(flagsOf(o), process.env, projectRoot(log), needsServer);
}

/** The project folder: the nearest one at or above the current folder holding envs/ or sql/, as git finds its own. */
export function projectRoot(log: Log): string {
  const here = process.cwd();
  const root = findProjectRoot(here) ?? here;
  if (root !== here) log.info(`project folder: ${root}`);
  return root;
}

export function relativePath(root: string, path: string): string {
  return relative(root, path) || path;
}

export function command(action: Action) {
  return (...params: unknown[]) => ({ action, params });
}
