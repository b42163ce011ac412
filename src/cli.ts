// sade wiring: argv -> Config -> api -> log. The only module that exits the process.
import { relative, resolve } from 'node:path';
import sade from 'sade';
import type * as Api from './api.js';
import type { Config, Flags } from './config.js';
import type { FleetCommand } from './fleet/present.js';
import type { Severity } from './core/review.js';
import { DbvcError, EXIT_CODES } from './core/errors.js';
import { alignColumns, createLog, formatMs, printReview, type Log } from './log.js';
import { findProjectRoot } from './project.js';
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

type Action = (log: Log, options: Options, signal: AbortSignal, ...args: string[]) => Promise<number | void>;

const prog = sade('dbvc').version(VERSION)
  .option('--no-color', 'Plain output (also when NO_COLOR is set or output is not a terminal)');

/** The target options, added to the command being defined; with a server, also the connection's. */
function addTargetOptions(withServer: boolean): void {
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

function addValuePlaceholders(): void {
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
function addMoveOptions(): void {
  prog.option('--sql', 'Print the SQL script instead of running it (no database connection)')
    .option('--out', 'With --sql: write the script to FILE, or one file per migration into DIR/ (relative to the current folder)')
    .option('--single-transaction', 'Run the whole plan in one transaction: all or nothing')
    .option('--ddl-lock-timeout', 'lock_timeout for each migration (or DBVC_DDL_LOCK_TIMEOUT in the env file; off by default)')
    .option('--ddl-lock-retries', 'Retry a migration that hit the lock timeout N times, pausing 1 s, 2 s, 4 s, ...')
    .option('--resume', 'Continue a no-transaction migration that stopped part-way, from its failed statement')
    .option('--restart', 'Run such a migration again from its first statement (after undoing what ran by hand)');
}

/** The fleet options of status, current, upgrade, downgrade, review, check and drift (README: Fleets). */
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
addTargetOptions(true);
addMoveOptions();
addFleetOptions(true);
prog.option('--allow-out-of-order', 'Also apply files below the current revision that never ran (recorded as out of order); dbvc renumber is the other way out');

prog.command('downgrade <revision>')
  .describe('Run down files back to REVISION: base, an id, number, stem, -N, id-N. With --sql, REVISION is a range FROM:TO rendered as a script, without connecting')
  .example('downgrade -1').example('downgrade 0002 --db aiven').example('downgrade base').example('downgrade 0005:0002 --sql')
  .action(command((log, o, signal, rev) => move(log, o, signal, 'down', rev)));
addTargetOptions(true);
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
addTargetOptions(true);
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
addTargetOptions(true);
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
addTargetOptions(true);

prog.command('history')
  .describe('List dbvc_history: every up, down, stamp, repair and adoption, oldest first')
  .option('--json', 'Print JSON')
  .example('history --db aiven')
  .action(command(async (log, o, signal) => {
    const api = await loadApi();
    const rows = await api.history(await configure(log, o), { report: log, signal });
    if (o.json) return log.json(rows);
    if (rows.length === 0) return log.result('no history yet');
    for (const line of alignColumns(rows.map(historyCells))) log.result(line);
  }));
addTargetOptions(true);

prog.command('stamp <revision>')
  .describe('Set alembic_version to REVISION without running migrations (adopt an existing database)')
  .option('--purge', 'Empty alembic_version first (unknown Alembic revision or branches)')
  .example('stamp 0003 --db aiven').example('stamp 0001 --purge')
  .action(command(async (log, o, signal, rev) => {
    const api = await loadApi();
    const result = await api.stamp(await configure(log, o), rev, Boolean(o.purge), { report: log, signal });
    log.result(`stamped: ${result.from ?? 'base'} -> ${result.to ?? 'base'} (no migration was run)`);
  }));
addTargetOptions(true);

prog.command('repair')
  .describe('Accept the current text of applied files that changed, after review; records who accepted it')
  .example('repair --db aiven')
  .action(command(async (log, o, signal) => {
    const api = await loadApi();
    const { repaired } = await api.repair(await configure(log, o), { report: log, signal });
    if (repaired.length === 0) return log.result('nothing to repair: every applied file matches its recorded checksum');
    for (const r of repaired) log.result(`accepted ${r.file}\n  was ${r.was}\n  now ${r.now}`);
  }));
addTargetOptions(true);

prog.command('revision <name>')
  .describe('Write the next NNNN_name.up.sql / .down.sql pair; with --autogenerate, drafted from an edit of sql/NAME/schema.sql')
  .option('--autogenerate', 'Draft the up (head to schema.sql) and the down (back) with @pgkit/migra, proved on a scratch database first')
  .option('--from-url', 'With --autogenerate: the desired schema is this database\'s (read-only), not schema.sql\'s; schema.sql is then rewritten as the new head')
  .option('--scratch-url', 'With --autogenerate: draft on this server (only dbvc_scratch_* databases) instead of an embedded PostgreSQL 17')
  .example('revision "add orders" --db aiven').example('revision "add sku" --autogenerate').example('revision "add sku" --autogenerate --from-url postgres://me@localhost/dev')
  .action(command(async (log, o, _signal, name) => {
    const api = await loadApi();
    const config = await configure(log, o, false);
    if (o['from-url'] !== undefined && !o.autogenerate) throw new DbvcError('usage', '--from-url goes with --autogenerate', { hint: 'add --autogenerate to draft the pair from that database' });
    if (!o.autogenerate) {
      const files = await api.revision(config, name);
      return log.result(`created ${files.up}\ncreated ${files.down}`);
    }
    const result = await api.autogenerate(config, name, { fromUrl: o['from-url'], scratchUrl: o['scratch-url'], report: log, env: process.env });
    if (!result.files) return log.result(`nothing to generate: ${o['from-url'] ? 'that database' : 'schema.sql'} equals the migrations at head`);
    log.result(`created ${result.files.up}\ncreated ${result.files.down}`);
    if (result.concurrent) log.result(`created ${result.concurrent.up}\ncreated ${result.concurrent.down}`);
    if (result.concurrent) log.info(`${result.concurrent.up} builds the new indexes of existing tables with CREATE INDEX CONCURRENTLY, outside a transaction`);
    for (const change of result.changes) log.info(`  ${change}`);
    for (const risk of result.risks) log.info(`review: may lose data: ${risk}`);
    for (const rename of result.renames) log.info(`review: possible rename: ${rename}`);
  }));
addTargetOptions(false);

prog.command('baseline <name>')
  .describe('Write the next up file holding the schema of a database no migration made (no down file: irreversible), proved on a scratch database first; read-only on that database unless --stamp')
  .option('--stamp', 'Also record the file as applied on that database, without running it (as dbvc stamp)')
  .option('--scratch-url', 'Prove it on this server (only dbvc_scratch_* databases) instead of an embedded PostgreSQL 17')
  .option('--json', 'Print the result as JSON')
  .example('baseline initial --db aiven').example('baseline initial --url postgres://me@prod.example.com/shop --stamp')
  .action(command(async (log, o, signal, name) => {
    const api = await loadApi();
    const result = await api.baseline(await configure(log, o), name, { stamp: Boolean(o.stamp), scratchUrl: o['scratch-url'], report: log, signal, env: process.env });
    for (const note of result.notes) log.info(`note: ${note}`);
    if (o.json) return log.json(result);
    log.result(`created ${result.file} (no down file: irreversible by design)`);
    if (result.stamped) log.result(`stamped: ${result.stamped.from ?? 'base'} -> ${result.stamped.to ?? 'base'} (the file was not run)`);
  }));
addTargetOptions(true);

prog.command('renumber <revision>')
  .describe('Rename a migration that never ran (one out of order) to the next free number; refuses when the target database knows either number')
  .example('renumber 0005 --db aiven')
  .action(command(async (log, o, signal, rev) => {
    const api = await loadApi();
    const result = await api.renumber(await configure(log, o), rev, { report: log, signal });
    for (const f of result.files) log.result(`renamed ${f.was} -> ${f.now}`);
    log.info(`${result.from} is now ${result.to}; dbvc upgrade applies it after the current head`);
  }));
addTargetOptions(true);

prog.command('init <name>')
  .describe('Create target NAME: an empty sql/NAME/ folder and envs/NAME.env.example to copy to envs/NAME.env')
  .example('init reporting')
  .action(command(async (log, _o, _signal, name) => {
    const { createTarget } = await import('./project.js');
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
      throw new DbvcError('usage', `"${name}" is not a target name`, { hint: 'use letters, digits, - and _ (for example reporting)' });
    }
    const root = projectRoot(log);
    for (const path of await createTarget(root, name)) log.result(`created ${path}`);
    log.info(`next: copy envs/${name}.env.example to envs/${name}.env and set DATABASE_URL, then dbvc revision "first change" --db ${name}`);
  }));

prog.command('psql')
  .describe('Open psql on the target database, starting the embedded server for it (the last dbvc to leave stops it). Arguments after -- go to psql. Without psql, print a URL for another client and keep the server running until Ctrl-C')
  .example('psql').example('psql --db aiven').example('psql -- -c "select * from alembic_version"')
  .option('--db', 'Target: settings in envs/NAME.env (default local)')
  .option('--url', 'Database URL; overrides the env file and DATABASE_URL ("embedded" runs a local server)')
  .action(command(async (log, o) => {
    const { runPsql } = await import('./psql.js');
    // psql handles Ctrl-C itself (it cancels its query); dbvc only stops when it holds the server for another client
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    const stopped = new Promise<void>((resolve) => {
      process.on('SIGINT', () => resolve());
      process.on('SIGTERM', () => resolve());
    });
    return runPsql(await configure(log, o), { report: log, args: o._.map(String), stopped });
  }));

prog.command('import-alembic <upgrade> [downgrade]')
  .describe('Turn an Alembic history into SQL pairs: give the scripts that `alembic upgrade base:head --sql` and `alembic downgrade head:base --sql` print (files, or - for standard input). Redirect them with 2>&1 to name the files after the revision messages')
  .example('import-alembic up.sql down.sql --db aiven')
  .example('import-alembic - --dir sql/neon')
  .action(command(async (log, o, _signal, upgradePath, downgradePath) => {
    const api = await loadApi();
    const fromHere = (path: string | undefined) => (path === undefined || path === '-' ? path : resolve(path));
    const result = await api.importAlembicScripts(await configure(log, o, false), fromHere(upgradePath)!, fromHere(downgradePath));
    for (const path of result.written) log.result(`wrote ${path}`);
    for (const warning of result.warnings) log.info(`warning: ${warning}`);
    log.info('review the files, then run dbvc status: a database Alembic migrated should be at head with nothing pending');
  }));
addTargetOptions(false);

prog.command('review [range]')
  .describe('Rehearse migrations on a scratch database: the locks and rewrites of each statement, the schema changes, whether the down file reverts the up, and squawk\'s findings. RANGE (FROM:TO as for upgrade --sql) needs no target; without it, what upgrade would apply to the target')
  .option('--json', 'Print the review as JSON (the contract in the README)')
  .option('--scratch-url', 'Rehearse on this server (dbvc creates and drops only dbvc_scratch_* databases there) instead of an embedded PostgreSQL 17')
  .option('--fail-on', 'Exit 3 on findings at or above this severity: error (default), warning or note')
  .option('--ddl-lock-timeout', 'The lock_timeout the real run sets (silences squawk\'s require-lock-timeout)')
  .option('--since-git', 'Instead of RANGE: the migrations whose files were added or changed since this git commit (what a pull request adds)')
  .option('--html', 'Also write the review as one self-contained HTML page: FILE, or DIR/ for DIR/index.html')
  .option('--sql', 'Print the upgrade script of the range (as upgrade --sql), each statement preceded by comments: its locks, rewrites and findings')
  .option('--out', 'With --sql: write the script to FILE, or one file per migration into DIR/')
  .example('review').example('review 0041:0042 --json').example('review base:head --scratch-url postgres://postgres@localhost/postgres').example('review --all')
  .action(command(async (log, o, signal, range) => {
    if (o.sql && o.json) throw new DbvcError('usage', '--sql and --json exclude each other', { hint: 'pick one: the annotated script or the JSON report' });
    if (o.out !== undefined && !o.sql) throw new DbvcError('usage', '--out goes with --sql', { hint: 'add --sql to write the annotated script' });
    if (o.html === '' || o.html === true as unknown) throw new DbvcError('usage', '--html needs a FILE or a DIR/', { hint: 'for example --html review.html, or --html out/ for out/index.html' });
    if (range !== undefined && o['since-git'] !== undefined) throw new DbvcError('usage', 'a RANGE and --since-git exclude each other', { hint: 'give one: dbvc review 0041:head, or dbvc review --since-git origin/main' });
    const failOn = o['fail-on'] ?? 'error';
    if (failOn !== 'error' && failOn !== 'warning' && failOn !== 'note') {
      throw new DbvcError('usage', `--fail-on ${String(failOn)} is not a severity`, { hint: 'use error, warning or note' });
    }
    const oneTargetOnly = o.html !== undefined ? '--html' : o.sql ? '--sql' : undefined;
    const fleetReview = { kind: 'review' as const, scratchUrl: o['scratch-url'], range, sinceGit: o['since-git'], failOn: failOn as Severity, oneTargetOnly };
    const single = await singleOrFleet(log, o, signal, fleetReview, range === undefined && o['since-git'] === undefined);
    if ('code' in single) return single.code;
    const api = await loadApi();
    const config = single.config;
    const result = await api.review(config, { range, sinceGit: o['since-git'], scratchUrl: o['scratch-url'], failOn, report: log, signal, env: process.env });
    if (o.html !== undefined) await writePage(log, String(o.html), result.report);
    if (o.sql) await writeReviewScript(log, o, api, config, result.report);
    else if (o.json) log.json(result.report);
    else printReview(log, result.report, failOn);
    return result.exitCode;
  }));
addTargetOptions(true);
addFleetOptions(false);

prog.command('dump')
  .describe('Write sql/NAME/schema.sql: the schema the migrations produce at head, as plain DDL made on a scratch database (by @pgkit/migra) and verified by loading it back')
  .option('--out', 'Write FILE instead (relative to the current folder), or - for stdout')
  .option('--scratch-url', 'Make it on this server (dbvc creates and drops only dbvc_scratch_* databases there) instead of an embedded PostgreSQL 17')
  .example('dump').example('dump --db aiven').example('dump --out - > schema.sql')
  .action(command(async (log, o) => {
    if (o.out === '' || o.out === true as unknown) throw new DbvcError('usage', '--out needs a FILE or -', { hint: 'for example --out schema.sql, or --out - for stdout' });
    const api = await loadApi();
    const config = await configure(log, o, false);
    const out = o.out === undefined || o.out === '-' ? o.out : resolve(String(o.out));
    const result = await api.dump(config, { out, scratchUrl: o['scratch-url'], report: log, env: process.env });
    if (result.path === null) return log.raw(result.text);
    log.result(`wrote ${relativePath(config.root, result.path)}: the schema at ${result.head ?? 'base'}`);
  }));
addTargetOptions(false);

prog.command('check')
  .describe('Compare sql/NAME/schema.sql with what the migrations produce (on a scratch database): exit 0 when equal, 3 when not, 2 when there is no schema.sql')
  .option('--json', 'Print the differences as JSON')
  .option('--scratch-url', 'Compare on this server (dbvc creates and drops only dbvc_scratch_* databases there) instead of an embedded PostgreSQL 17')
  .example('check').example('check --db aiven --json').example('check --all')
  .action(command(async (log, o, signal) => {
    const single = await singleOrFleet(log, o, signal, { kind: 'check', scratchUrl: o['scratch-url'] }, false);
    if ('code' in single) return single.code;
    const api = await loadApi();
    const config = single.config;
    const result = await api.check(config, { scratchUrl: o['scratch-url'], report: log, env: process.env });
    if (o.json) log.json(result);
    else if (result.exitCode === 0) log.result(`schema.sql equals the migrations at ${result.head ?? 'base'}`);
    else for (const d of result.differences) log.result(d.message);
    return result.exitCode;
  }));
addTargetOptions(false);
addFleetOptions(false);

prog.command('drift')
  .describe('Compare the target database\'s schema with what its recorded revision makes on a scratch database: what was changed by hand. Read-only on the target; exit 3 when anything differs')
  .option('--json', 'Print the differences as JSON')
  .option('--scratch-url', 'Build the expected schema on this server (only dbvc_scratch_* databases) instead of an embedded PostgreSQL 17')
  .example('drift --db aiven').example('drift --db aiven --json').example('drift --db tenants --parallel 8')
  .action(command(async (log, o, signal) => {
    const single = await singleOrFleet(log, o, signal, { kind: 'drift', scratchUrl: o['scratch-url'] });
    if ('code' in single) return single.code;
    const api = await loadApi();
    const config = single.config;
    const result = await api.drift(config, { scratchUrl: o['scratch-url'], report: log, env: process.env });
    if (o.json) log.json(result);
    else if (result.exitCode === 0) log.result(`no drift: ${config.db} has the schema of ${result.revision ?? 'base'}`);
    else for (const d of result.differences) log.result(d.message);
    return result.exitCode;
  }));
addTargetOptions(true);
addFleetOptions(false);

/** The review as one self-contained HTML page (issue 17); highlight.js loads only here. */
async function writePage(log: Log, fileOrDir: string, report: Api.ReviewReport): Promise<void> {
  const { writeReviewPage } = await import('./review/page-file.js');
  const path = await writeReviewPage(report, fileOrDir);
  log.info(`wrote the review page ${path} (verdict ${report.verdict})`);
}

async function writeReviewScript(log: Log, o: Options, api: typeof Api, config: Config, report: Api.ReviewReport): Promise<void> {
  const files = await api.renderReviewScript(config, report);
  if (o.out === undefined) return writeInChunks(log, files.map((f, i) => (i === 0 ? f.text : `\n${f.text}`)));
  const script = { from: report.range.from, to: report.range.to, steps: report.migrations.length, files };
  const written = await api.saveOffline(script, String(o.out), config.root);
  log.info(`wrote ${written.length === 1 ? written[0] : `${written.length} files into ${String(o.out)}`}: review of ${report.range.from ?? 'base'} -> ${report.range.to ?? 'base'} (verdict ${report.verdict})`);
}

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
  const written = await api.saveOffline(script, String(o.out), process.cwd());
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

/** A history row as the cells of an aligned line: when, event, version, name, move, who, how long, note. */
function historyCells(r: Api.HistoryRow): string[] {
  const isMove = r.event === 'up' || r.event === 'down' || r.event === 'stamp';
  const moved = isMove ? `${r.fromVersion ?? 'base'} -> ${r.toVersion ?? 'base'}` : '';
  const took = r.durationMs === null ? '' : formatMs(r.durationMs);
  return [r.appliedAt.toISOString(), r.event, r.version ?? '', r.name ?? '', moved, `by ${r.appliedBy}@${r.clientHost ?? '?'}`, took, r.note ? `(${r.note})` : ''];
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
  for (const line of alignColumns(d.history.map(historyCells))) log.result(`    ${line}`);
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
async function singleOrFleet(log: Log, o: Options, signal: AbortSignal, command: FleetCommand, needsServer = true): Promise<{ code: number } | { config: Config }> {
  const { wantsFleet, runFleetCommand } = await import('./fleet/present.js');
  if (!wantsFleet(o)) {
    const config = await configure(log, o, needsServer);
    if (!config.urlsFile) return { config };
  }
  return { code: await runFleetCommand(log, o, flagsOf(o), signal, command, projectRoot(log)) };
}

function flagsOf(o: Options): Flags {
  return {
    db: o.db, url: o.url, dir: o.dir === undefined ? undefined : resolve(String(o.dir)), schema: o.schema, lockTimeout: o['lock-timeout'],
    ddlLockTimeout: o['ddl-lock-timeout'], ddlLockRetries: o['ddl-lock-retries'] === undefined ? undefined : String(o['ddl-lock-retries']),
    wait: Boolean(o.wait), waitTimeout: o['wait-timeout'],
  };
}

async function configure(log: Log, o: Options, needsServer = true): Promise<Config> {
  const { resolveConfig } = await import('./config.js');
  return resolveConfig(flagsOf(o), process.env, projectRoot(log), needsServer);
}

/** The project folder: the nearest one at or above the current folder holding envs/ or sql/, as git finds its own. */
function projectRoot(log: Log): string {
  const here = process.cwd();
  const root = findProjectRoot(here) ?? here;
  if (root !== here) log.info(`project folder: ${root}`);
  return root;
}

function relativePath(root: string, path: string): string {
  return relative(root, path) || path;
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

/** `dbvc dump --out -` (stdout): mri drops a lone "-", so it becomes `--out=-` before parsing (dump only: elsewhere --out takes no -). */
export function keepDashValues(argv: string[]): string[] {
  const at = argv[2] !== 'dump' ? -1 : argv.findIndex((a, i) => a === '--out' && argv[i + 1] === '-');
  return at < 0 ? argv : [...argv.slice(0, at), '--out=-', ...argv.slice(at + 2)];
}

async function main(): Promise<number> {
  const argv = protectNegativeSteps(keepDashValues(process.argv));
  // A reader that stops early (dbvc upgrade --sql | head) closes the pipe: the run goes on, its output is dropped,
  // rather than a crash with a stack (or a migration abandoned half-way)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
  const color = process.stdout.isTTY === true && !('NO_COLOR' in process.env) && !argv.includes('--no-color');
  const log = createLog({ stdout: process.stdout, stderr: process.stderr, color });
  if (asksForVersion(argv)) {
    log.result(`dbvc ${VERSION}`);
    return 0;
  }
  addValuePlaceholders();
  const parsed = parseArguments(argv);
  if (parsed === 'usage') return EXIT_CODES.usage;
  if (!parsed) return 0; // --help was printed
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
    if (parsed.name !== 'psql') refuseExtraArguments(parsed.name, options._); // psql gets its arguments after --
    const positional = params.slice(0, -1).map((p) => (p === undefined ? undefined : String(p))) as string[];
    const code = await action(log, options, controller.signal, ...positional);
    return controller.signal.aborted ? EXIT_CODES.interrupted : typeof code === 'number' ? code : 0;
  } catch (error) {
    return fail(log, error);
  }
}

/** --version or -v anywhere before a -- (sade would print "dbvc, 0.1.0"). */
function asksForVersion(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return argv.slice(2, end === -1 ? undefined : end).some((a) => a === '--version' || a === '-v');
}

/** sade leaves arguments beyond a command's own in `_`: `dbvc upgrade head extra` is a mistake, not `upgrade head`. */
function refuseExtraArguments(command: string, extra: unknown[]): void {
  if (extra.length === 0) return;
  const shown = extra.map((a) => `"${String(a)}"`).join(', ');
  throw new DbvcError('usage', `dbvc ${command} does not take ${shown}`, { hint: `see dbvc ${command} --help` });
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
    return prog.parse(argv, { lazy: true, string: STRING_OPTIONS, default: { color: true }, unknown: (flag: string) => `unknown option ${flag}` });
  } catch (error) {
    if (error === USAGE) return 'usage';
    throw error;
  } finally {
    process.exit = exit;
  }
}

const USAGE = Symbol('usage');
const STRING_OPTIONS = ['db', 'url', 'dir', 'schema', 'lock-timeout', 'ddl-lock-timeout', 'ddl-lock-retries', 'out', 'wait-timeout', 'scratch-url', 'from-url', 'fail-on', 'since-git', 'html', 'urls-file', 'parallel', 'canary'];

function fail(log: Log, error: unknown): number {
  log.error(error);
  return error instanceof DbvcError ? EXIT_CODES[error.code] : 70;
}

process.exitCode = 70; // if main() never settled (a promise nobody resolves), the run did not succeed
main().then((code) => {
  process.exitCode = code;
}, (error) => {
  process.stderr.write(`internal error: ${String(error)}\n`);
  process.exitCode = 70;
});
