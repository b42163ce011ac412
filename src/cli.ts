// sade wiring: argv -> Config -> api -> log. The only module that exits the process.
import sade from 'sade';
import type * as Api from './api.js';
import type { Config, Flags } from './config.js';
import type { FleetCommand } from './fleet/present.js';
import { DbvcError, EXIT_CODES } from './core/errors.js';
import { createLog, formatMs, type Log } from './log.js';
import { VERSION } from './version.js';

// The api (and with it postgres.js) loads only when a command runs, so --help and --version start fast.
const loadApi = () => import('./api.js');

interface Options extends Flags {
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
  all?: boolean;
  'urls-file'?: string;
  parallel?: string;
  'keep-going'?: boolean;
  canary?: string;
  _: string[];
}

type Action = (log: Log, options: Options, signal: AbortSignal, ...args: string[]) => Promise<number | void>;

const prog = sade('dbvc').version(VERSION)
  .option('--db', 'Target: migrations in sql/<db>/, settings in envs/<db>.env (default local); status, current, upgrade and downgrade take several: a,b')
  .option('--url', 'Database URL; overrides the env file and DATABASE_URL ("embedded" runs a local server)')
  .option('--dir', 'Migrations folder (default sql/<db>)')
  .option('--schema', 'Schema holding alembic_version and dbvc_history (default public)')
  .option('--lock-timeout', 'How long to wait for another run to finish, e.g. 30s (default 30s)')
  .option('--no-color', 'Plain output (also when NO_COLOR is set or output is not a terminal)');

/** The options upgrade and downgrade share, added to the command being defined. */
function addMoveOptions(): void {
  prog.option('--sql', 'Print the SQL script instead of running it (no database connection)')
    .option('--out', 'With --sql: write the script to FILE, or one file per migration into DIR/')
    .option('--single-transaction', 'Run the whole plan in one transaction: all or nothing')
    .option('--ddl-lock-timeout', 'lock_timeout for each migration, e.g. 5s (or DBVC_DDL_LOCK_TIMEOUT in the env file; off by default)')
    .option('--ddl-lock-retries', 'Retry a migration that hit the lock timeout N times, pausing 1 s, 2 s, 4 s, ...')
    .option('--resume', 'Continue a no-transaction migration that stopped part-way, from its failed statement')
    .option('--restart', 'Run such a migration again from its first statement (after undoing what ran by hand)');
}

/** The fleet options of status, current, upgrade and downgrade (README: Fleets). */
function addFleetOptions(canMove: boolean): void {
  prog.option('--all', 'Every target that has both sql/<db>/ and envs/<db>.env (--db a,b names some)')
    .option('--urls-file', 'A file listing the target\'s databases, one URL per line (or DBVC_URLS_FILE in the env file)')
    .option('--parallel', 'Databases at once in a fleet run (default 4)');
  if (!canMove) return;
  prog.option('--keep-going', 'Fleet: start every database even after one failed (default: stop starting new ones)')
    .option('--canary', 'Fleet: run the first N databases first, and the rest only if they all succeeded');
}

prog.command('upgrade [revision]')
  .describe('Apply migrations up to REVISION (default head). REVISION: head, an id (0003), number (3), stem, +N, head-N, id+N. With --sql, REVISION is a range FROM:TO (default base:head) rendered as a script, without connecting')
  .example('upgrade').example('upgrade +1 --db aiven').example('upgrade 0003').example('upgrade 0002:0005 --sql --out review.sql')
  .example('upgrade --all --parallel 8').example('upgrade --db tenants --canary 1')
  .action(command((log, o, signal, rev) => move(log, o, signal, 'up', rev)));
addMoveOptions();
addFleetOptions(true);
prog.option('--allow-out-of-order', 'Also apply files below the current revision that never ran (recorded as out of order); dbvc renumber is the other way out');

prog.command('downgrade <revision>')
  .describe('Run down files back to REVISION: base, an id, number, stem, -N, id-N. With --sql, REVISION is a range FROM:TO rendered as a script, without connecting')
  .example('downgrade -1').example('downgrade 0002 --db aiven').example('downgrade base').example('downgrade 0005:0002 --sql')
  .action(command((log, o, signal, rev) => move(log, o, signal, 'down', rev)));
addMoveOptions();
addFleetOptions(true);

prog.command('current')
  .describe('Print the revision alembic_version holds')
  .option('--json', 'Print JSON')
  .example('current --db neon').example('current --all')
  .action(command(async (log, o, signal) => {
    const api = await loadApi();
    const single = await singleOrFleet(log, o, signal, { kind: 'current' });
    if ('code' in single) return single.code;
    const result = await api.current(single.config, { report: log, signal });
    if (o.json) return log.json(result);
    log.result(result.current === null ? 'base' : `${result.current}${result.isHead ? ' (head)' : ''}`);
  }));

addFleetOptions(false);

prog.command('status')
  .describe('Show the current revision, head, pending migrations and any problem')
  .option('--json', 'Print JSON')
  .option('--exit-code', `Exit ${EXIT_CODES.check} when anything is pending or wrong (a CI gate)`)
  .example('status').example('status --exit-code --db aiven').example('status --db aiven,neon --json')
  .action(command(async (log, o, signal) => {
    const api = await loadApi();
    const single = await singleOrFleet(log, o, signal, { kind: 'status' });
    if ('code' in single) return single.code;
    const report = await api.status(single.config, { report: log, signal });
    if (o.json) log.json(report);
    else printStatus(log, report);
    const isClean = report.pending.length === 0 && report.problems.length === 0;
    return o['exit-code'] && !isClean ? EXIT_CODES.check : 0;
  }));

addFleetOptions(false);

prog.command('show <revision>')
  .describe('One migration: its files and checksums, its state on the target, what changed since it was applied (a diff), and its history')
  .option('--json', 'Print JSON')
  .example('show 0003 --db aiven')
  .action(command(async (log, o, signal, rev) => {
    const api = await loadApi();
    const detail = await api.show(await configure(log, o), rev, { report: log, signal });
    if (o.json) return log.json(detail);
    printShow(log, detail);
  }));

prog.command('history')
  .describe('List dbvc_history: every up, down, stamp, repair and adoption, oldest first')
  .option('--json', 'Print JSON')
  .example('history --db aiven')
  .action(command(async (log, o, signal) => {
    const api = await loadApi();
    const rows = await api.history(await configure(log, o), { report: log, signal });
    if (o.json) return log.json(rows);
    if (rows.length === 0) return log.result('no history yet');
    for (const line of formatHistoryRows(rows)) log.result(line);
  }));

prog.command('stamp <revision>')
  .describe('Set alembic_version to REVISION without running migrations (adopt an existing database)')
  .option('--purge', 'Empty alembic_version first (unknown Alembic revision or branches)')
  .example('stamp 0003 --db aiven').example('stamp 0001 --purge')
  .action(command(async (log, o, signal, rev) => {
    const api = await loadApi();
    const result = await api.stamp(await configure(log, o), rev, Boolean(o.purge), { report: log, signal });
    log.result(`stamped: ${result.from ?? 'base'} -> ${result.to ?? 'base'} (no migration was run)`);
  }));

prog.command('repair')
  .describe('Accept the current text of applied files that changed, after review; records who accepted it')
  .example('repair --db aiven')
  .action(command(async (log, o, signal) => {
    const api = await loadApi();
    const { repaired } = await api.repair(await configure(log, o), { report: log, signal });
    if (repaired.length === 0) return log.result('nothing to repair: every applied file matches its recorded checksum');
    for (const r of repaired) log.result(`accepted ${r.file}\n  was ${r.was}\n  now ${r.now}`);
  }));

prog.command('revision <name>')
  .describe('Write the next NNNN_name.up.sql / .down.sql pair')
  .example('revision "add orders" --db aiven')
  .action(command(async (log, o, _signal, name) => {
    const api = await loadApi();
    const files = await api.revision(await configure(log, o, false), name);
    log.result(`created ${files.up}\ncreated ${files.down}`);
  }));

prog.command('renumber <revision>')
  .describe('Rename a migration that never ran (one out of order) to the next free number; refuses when the target database knows either number')
  .example('renumber 0005 --db aiven')
  .action(command(async (log, o, signal, rev) => {
    const api = await loadApi();
    const result = await api.renumber(await configure(log, o), rev, { report: log, signal });
    for (const f of result.files) log.result(`renamed ${f.was} -> ${f.now}`);
    log.info(`${result.from} is now ${result.to}; dbvc upgrade applies it after the current head`);
  }));

prog.command('import-alembic <upgrade> [downgrade]')
  .describe('Turn an Alembic history into SQL pairs: give the scripts that `alembic upgrade base:head --sql` and `alembic downgrade head:base --sql` print (files, or - for standard input). Redirect them with 2>&1 to name the files after the revision messages')
  .example('import-alembic up.sql down.sql --db aiven')
  .example('import-alembic - --dir sql/neon')
  .action(command(async (log, o, _signal, upgradePath, downgradePath) => {
    const api = await loadApi();
    const result = await api.importAlembicScripts(await configure(log, o, false), upgradePath, downgradePath);
    for (const path of result.written) log.result(`wrote ${path}`);
    for (const warning of result.warnings) log.info(`warning: ${warning}`);
    log.info('review the files, then run dbvc status: a database Alembic migrated should be at head with nothing pending');
  }));

async function move(log: Log, o: Options, signal: AbortSignal, direction: 'up' | 'down', rev: string | undefined) {
  if (o.sql) return renderScript(log, o, direction, rev);
  if (o.out !== undefined) throw new DbvcError('usage', '--out goes with --sql', { hint: 'add --sql to render a script instead of running the migrations' });
  if (o.resume && o.restart) throw new DbvcError('usage', '--resume and --restart exclude each other', { hint: 'pick one; dbvc status explains both' });
  const moveOptions = { singleTransaction: Boolean(o['single-transaction']), resume: Boolean(o.resume), restart: Boolean(o.restart), allowOutOfOrder: Boolean(o['allow-out-of-order']) };
  const single = await singleOrFleet(log, o, signal, { kind: 'move', direction, revision: rev ?? 'head', move: moveOptions });
  if ('code' in single) return single.code;
  const config = single.config;
  const api = await loadApi();
  const options = { report: log, signal, ...moveOptions };
  const run = direction === 'up' ? api.upgrade(config, rev, options) : api.downgrade(config, rev!, options);
  const result = await run;
  const where = `${result.to ?? 'base'}${result.isHead && result.to !== null ? ' (head)' : ''}`;
  if (result.steps.length === 0) return log.result(`nothing to do: ${config.db} is already at ${where}`);
  log.result(`${config.db} is now at ${where} (${result.steps.length} migration${result.steps.length === 1 ? '' : 's'} ${direction === 'up' ? 'applied' : 'reverted'})`);
}

async function renderScript(log: Log, o: Options, direction: 'up' | 'down', range: string | undefined) {
  const { wantsFleet } = await import('./fleet/present.js');
  if (wantsFleet(o)) throw new DbvcError('usage', '--sql renders the script of one target, not a fleet', { hint: 'run it per target: --sql --db NAME (the script is the same for every database of a target)' });
  if (o.out === '' || o.out === true as unknown) throw new DbvcError('usage', '--out needs a FILE or a DIR/', { hint: 'for example --out review.sql or --out review/' });
  const api = await loadApi();
  const config = await configure(log, o, false);
  const script = await api.renderOffline(config, direction, range);
  if (o.out === undefined) return writeInChunks(log, script.files.map((f, i) => (i === 0 ? f.text : `\n${f.text}`)));
  const written = await api.saveOffline(script, String(o.out), config.root);
  log.info(`wrote ${written.length === 1 ? written[0] : `${written.length} files into ${String(o.out)}`}: ${script.from ?? 'base'} -> ${script.to ?? 'base'}, ${script.steps} migration${script.steps === 1 ? '' : 's'}`);
}

/** One write per ~256 kB rather than per migration: a thousand small writes to a pipe or file cost ~30 ms. */
function writeInChunks(log: Log, texts: string[]): void {
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

function printStatus(log: Log, report: Api.StatusReport): void {
  const c = log.colors;
  log.result(`current: ${report.current ?? 'base'}${report.currentStem && report.currentStem !== report.current ? ` (${report.currentStem})` : ''}`);
  log.result(`head:    ${report.head ?? 'none (no migrations)'}`);
  log.result(report.applied === null ? 'applied: unknown (see the problem below)' : `applied: ${report.applied}, pending: ${report.pending.length}`);
  const paint: Record<string, (text: string) => string> = { applied: c.green, pending: c.yellow, 'out of order': c.red, changed: c.red, 'missing file': c.red, unknown: c.dim };
  for (const row of report.migrations) log.result(`  ${paint[row.state](row.state.padEnd(12))} ${describeRow(row)}`);
  for (const p of report.problems) {
    log.result(`${c.red('problem')} ${p.message}`);
    for (const d of p.lines) log.result(`  ${d}`);
    if (p.hint) log.result(`  ${c.dim('hint')} ${p.hint}`);
  }
}

/** History rows as aligned columns: when, event, version, name, move, who, how long, note. */
function formatHistoryRows(rows: Pick<Api.HistoryRow, 'appliedAt' | 'event' | 'version' | 'name' | 'fromVersion' | 'toVersion' | 'appliedBy' | 'clientHost' | 'durationMs' | 'note'>[]): string[] {
  const cells = rows.map((r) => {
    const isMove = r.event === 'up' || r.event === 'down' || r.event === 'stamp';
    return [
      r.appliedAt.toISOString(), r.event, r.version ?? '', r.name ?? '', isMove ? `${r.fromVersion ?? 'base'} -> ${r.toVersion ?? 'base'}` : '',
      `by ${r.appliedBy}@${r.clientHost ?? '?'}`, r.durationMs === null ? '' : formatMs(r.durationMs), r.note ? `(${r.note})` : '',
    ];
  });
  const widths = cells[0]?.map((_, column) => Math.max(...cells.map((row) => row[column].length))) ?? [];
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ').trimEnd());
}

function printShow(log: Log, d: Api.MigrationDetail): void {
  log.result(`${d.version}_${d.name}: ${d.state.state}${d.state.appliedAt ? ` (${d.state.appliedHow} on ${d.state.appliedAt.toISOString()} by ${d.state.appliedBy ?? '?'})` : ''}`);
  log.result(`  up:   ${d.up.file}  ${d.up.checksum}`);
  log.result(d.down ? `  down: ${d.down.file}  ${d.down.checksum}${d.down.isEmpty ? '  (empty: nothing to undo)' : ''}` : `  down: none${d.state.down === 'recorded' ? ' on disk; dbvc_history recorded one, which downgrade runs' : ': irreversible'}`);
  if (d.change) {
    log.result(`  changed since it was applied: ${d.change.isCosmetic ? 'only whitespace or comments' : 'the SQL itself'}`);
    for (const line of d.change.diff) log.result(`    ${line}`);
  }
  log.result(d.history.length === 0 ? '  history: none' : '  history:');
  for (const line of formatHistoryRows(d.history)) log.result(`    ${line}`);
}

function describeRow(row: Api.StatusReport['migrations'][number]): string {
  const what = row.file ?? `${row.version}${row.name ? `_${row.name}` : ''} (recorded in dbvc_history; no file)`;
  const how = row.appliedHow && row.appliedHow !== 'up' ? ` (${row.appliedHow})` : '';
  const when = row.appliedAt ? `  ${row.appliedAt.toISOString()} by ${row.appliedBy ?? '?'}${how}` : '';
  const down = row.down === 'empty' ? '  down: empty, nothing to undo' : row.down === 'none' ? '  no down: irreversible' : row.down === 'recorded' ? '  down: only as recorded' : '';
  return `${what}${when}${down}`;
}

/**
 * A fleet run (a fleet option, or a target whose env file lists its databases) returns its exit code; otherwise
 * the one database's config, for the command as it always ran.
 */
async function singleOrFleet(log: Log, o: Options, signal: AbortSignal, command: FleetCommand): Promise<{ code: number } | { config: Config }> {
  const { wantsFleet, runFleetCommand } = await import('./fleet/present.js');
  if (!wantsFleet(o)) {
    const config = await configure(log, o);
    if (!config.urlsFile) return { config };
  }
  return { code: await runFleetCommand(log, o, flagsOf(o), signal, command) };
}

function flagsOf(o: Options): Flags {
  return {
    db: o.db, url: o.url, dir: o.dir, schema: o.schema, lockTimeout: o['lock-timeout'],
    ddlLockTimeout: o['ddl-lock-timeout'], ddlLockRetries: o['ddl-lock-retries'] === undefined ? undefined : String(o['ddl-lock-retries']),
  };
}

async function configure(log: Log, o: Options, needsServer = true): Promise<Config> {
  const { resolveConfig } = await import('./config.js');
  const config = resolveConfig(flagsOf(o), process.env, process.cwd(), needsServer);
  if (config.server.kind === 'url' && config.server.password) log.addSecret(config.server.password);
  return config;
}

function command(action: Action) {
  return (...params: unknown[]) => ({ action, params });
}

/** `dbvc downgrade -1`: mri would read -1 as a flag, so negative steps move behind `--` before parsing. */
export function protectNegativeSteps(argv: string[]): string[] {
  const steps = argv.slice(2).filter((a) => /^-\d+$/.test(a));
  if (steps.length === 0 || argv.includes('--')) return argv;
  return [...argv.filter((a, i) => i < 2 || !/^-\d+$/.test(a)), '--', ...steps];
}

async function main(): Promise<number> {
  const argv = protectNegativeSteps(process.argv);
  const color = process.stdout.isTTY === true && !('NO_COLOR' in process.env) && !argv.includes('--no-color');
  const secrets = collectSecrets(argv);
  const log = createLog({ stdout: process.stdout, stderr: process.stderr, color, secrets });
  const parsed = parseArguments(argv);
  if (parsed === 'usage') return EXIT_CODES.usage;
  if (!parsed) return 0; // --help or --version was printed
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT_CODES.interrupted);
    log.info(`${signal}: stopping: the statement in flight is cancelled and its transaction rolled back (a no-transaction file keeps the statements that already ran); press Ctrl-C again to quit at once`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { action, params } = parsed.handler(...parsed.args) as { action: Action; params: unknown[] };
    const options = params[params.length - 1] as Options;
    const positional = params.slice(0, -1).map((p) => (p === undefined ? undefined : String(p))) as string[];
    const code = await action(log, options, controller.signal, ...positional);
    return controller.signal.aborted ? EXIT_CODES.interrupted : typeof code === 'number' ? code : 0;
  } catch (error) {
    return fail(log, error);
  }
}

/**
 * sade prints its own usage errors (unknown command or option, missing argument) and calls process.exit(1);
 * we keep its message but exit with the documented usage code.
 */
function parseArguments(argv: string[]) {
  const exit = process.exit;
  process.exit = (() => { throw USAGE; }) as typeof process.exit;
  try {
    // values stay strings: mri would turn --db 2024 or --lock-timeout 30 into numbers
    return prog.parse(argv, { lazy: true, string: STRING_OPTIONS, unknown: (flag: string) => `unknown option ${flag}` });
  } catch (error) {
    if (error === USAGE) return 'usage';
    throw error;
  } finally {
    process.exit = exit;
  }
}

const USAGE = Symbol('usage');
const STRING_OPTIONS = ['db', 'url', 'dir', 'schema', 'lock-timeout', 'ddl-lock-timeout', 'ddl-lock-retries', 'out', 'urls-file', 'parallel', 'canary'];

function fail(log: Log, error: unknown): number {
  log.error(error);
  return error instanceof DbvcError ? EXIT_CODES[error.code] : 70;
}

/** Passwords from --url, the environment and the env file, decoded and encoded, for the log to scrub. */
function collectSecrets(argv: string[]): string[] {
  const secrets: string[] = [];
  const urls = [argv[argv.indexOf('--url') + 1], process.env.DATABASE_URL, process.env.PGPASSWORD].filter(Boolean) as string[];
  for (const text of urls) {
    try {
      const password = new URL(text).password;
      if (password) secrets.push(password, decodeURIComponent(password));
    } catch {
      if (!text.includes('://')) secrets.push(text);
    }
  }
  return secrets;
}

process.exitCode = 70; // if main() never settled (a promise nobody resolves), the run did not succeed
main().then((code) => {
  process.exitCode = code;
}, (error) => {
  process.stderr.write(`internal error: ${String(error)}\n`);
  process.exitCode = 70;
});
