// Black-box tests of the built CLI: spawn `node dist/dbvc.cjs`, check the exit code, stdout (results) and stderr
// (diagnostics). Build first: make build.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lines, removeTemps, run, start, tempDir } from './helpers/cli.js';
import { createDatabase, ROOT, type TestDatabase } from './helpers/db.js';

const LOCK_CLASS = 1684174435; // "dbvc"
const LOCK_KEY = createHash('sha256').update('dbvc:public').digest().readInt32BE(0) & 0x7fffffff;
const REFUSED = 'postgres://u:S3cretPass@127.0.0.1:1/db';
const STEP_TIME = String.raw`\((\d+ ms|\d+\.\d s)\)`;

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Waits until a pg_sleep(30) of the run under test is on the server (it runs in 0002 of cli-sleep). */
function waitForSleep(t: TestDatabase, timeoutMs: number): Promise<boolean> {
  return waitFor(async () => {
    const [{ n }] = await t.db`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and query like '%pg_sleep(30)%'`;
    return n > 0;
  }, timeoutMs);
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}

// ---------------------------------------------------------------------------------------------------------------
// Commands that need no database: help, usage and configuration errors, connection failures, revision.

const cli = suite('cli');
cli.after(removeTemps);

cli('--help exits 0 and shows the commands and an example command line', async () => {
  const { code, stdout, stderr } = await run(['--help']);
  assert.is(code, 0);
  assert.match(stdout, /Usage\n\s+\$ dbvc <command> \[options\]/);
  assert.match(stdout, /^\s+upgrade\s+Apply migrations/m);
  assert.match(stdout, /^\s+\$ dbvc upgrade/m);
  assert.is(stderr, '');
});

cli('--version and -v print the package version, alone or after a command (sade answers the latter)', async () => {
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['-v'], ['status', '--version'], ['upgrade', '-v', '--db', 'x']]) {
    const { code, stdout, stderr } = await run(args);
    assert.is(code, 0, args.join(' '));
    assert.is(stdout, `dbvc ${version}\n`, args.join(' '));
    assert.is(stderr, '');
  }
});

cli('upgrade --help exits 0 and shows examples', async () => {
  const { code, stdout, stderr } = await run(['upgrade', '--help']);
  assert.is(code, 0);
  assert.match(stdout, /\$ dbvc upgrade \[revision\] \[options\]/);
  assert.match(stdout, /Examples\n\s+\$ dbvc upgrade\n\s+\$ dbvc upgrade \+1 --db aiven/);
  assert.is(stderr, '');
});

cli('--help shows what each option\'s value looks like; revision --help lists only the options revision reads (with --autogenerate)', async () => {
  const upgrade = await run(['upgrade', '--help']);
  assert.is(upgrade.code, 0);
  for (const option of ['--db NAME', '--url URL', '--dir PATH', '--schema NAME', '--lock-timeout DURATION', '--out FILE|DIR/', '--ddl-lock-timeout DURATION', '--ddl-lock-retries N']) {
    assert.match(upgrade.stdout, new RegExp(`^\\s+${option.replace(/[|/]/g, '\\$&')}\\s{2,}\\S`, 'm'), option);
  }
  const revision = await run(['revision', '--help']);
  assert.is(revision.code, 0);
  const options = [...revision.stdout.matchAll(/^\s+(-[-\w, ]+?)(?: [A-Z|/]+)?\s{2,}/gm)].map((m) => m[1]);
  assert.equal(options, ['--autogenerate', '--from-url', '--scratch-url', '--db', '--dir', '--no-color', '-h, --help']);
  const refused = await run(['revision', 'x', '--url', REFUSED, '--dir', 'test/fixtures/shop']);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /unknown option --url/);
});

cli('an argument beyond those a command takes is a usage error (exit 2), not ignored', async () => {
  const { code, stdout, stderr } = await run(['upgrade', 'head', 'extra', '--sql', '--dir', 'test/fixtures/shop']);
  assert.is(code, 2);
  assert.is(stdout, '');
  assert.is(stderr, 'error dbvc upgrade does not take "extra"\nhint see dbvc upgrade --help\n');
});

cli('an unknown option is a usage error (exit 2)', async () => {
  const { code, stdout, stderr } = await run(['upgrade', '--bogus', '--url', REFUSED, '--dir', 'test/fixtures/shop']);
  assert.is(code, 2);
  assert.match(stderr, /unknown option --bogus/);
  assert.is(stdout, '');
});

cli('an unknown command is a usage error (exit 2)', async () => {
  const { code, stdout, stderr } = await run(['frobnicate']);
  assert.is(code, 2);
  assert.match(stderr, /Invalid command: frobnicate/);
  assert.is(stdout, '');
});

cli('a missing argument is a usage error (exit 2)', async () => {
  const { code, stdout, stderr } = await run(['downgrade', '--url', REFUSED, '--dir', 'test/fixtures/shop']);
  assert.is(code, 2);
  assert.match(stderr, /Insufficient arguments/);
  assert.match(stderr, /dbvc downgrade --help/);
  assert.is(stdout, '');
});

cli('--db ../etc is refused as a target name (exit 2)', async () => {
  const { code, stdout, stderr } = await run(['upgrade', '--db', '../etc']);
  assert.is(code, 2);
  assert.ok(stderr.includes('error --db "../etc" is not a target name\n'), stderr);
  assert.is(stdout, '');
});

cli('no URL anywhere is a configuration error that says where it looked (exit 2)', async () => {
  const empty = await tempDir();
  const { code, stdout, stderr } = await run(['upgrade'], { cwd: empty });
  assert.is(code, 2);
  assert.ok(stderr.includes('error no database URL for target "local": envs/local.env does not exist, and neither --url nor DATABASE_URL is set\n'), stderr);
  assert.match(stderr, /^hint .*--url/m);
  assert.is(stdout, '');
});

cli('a refused port fails fast (exit 5), names host:port and never shows the password', async () => {
  const started = Date.now();
  const { code, stdout, stderr } = await run(['upgrade', '--url', REFUSED, '--dir', 'test/fixtures/shop']);
  assert.is(code, 5);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.ok(stderr.includes('error nothing is listening on 127.0.0.1:1 (connection refused)\n'), stderr);
  assert.not.ok(stdout.includes('S3cretPass') || stderr.includes('S3cretPass'), stdout + stderr);
});

cli('--no-color, as documented, is accepted by every command', async () => {
  for (const args of [['upgrade', '--sql', '--no-color'], ['--no-color', 'downgrade', 'head:base', '--sql'], ['revision', '--help', '--no-color']]) {
    const { code, stderr } = await run([...args, '--dir', 'test/fixtures/shop']);
    assert.is(code, 0, `${args.join(' ')}: ${stderr}`);
  }
});

cli('the target line comes first, also when connecting fails', async () => {
  const { code, stderr } = await run(['status', '--url', REFUSED, '--dir', 'test/fixtures/shop']);
  assert.is(code, 5);
  assert.equal(lines(stderr), [
    'target local: postgres://u:***@127.0.0.1:1/db (URL from --url), schema public',
    'error nothing is listening on 127.0.0.1:1 (connection refused)',
    'hint check the host and port, and that the server is running',
  ]);
});

cli('a malformed URL with a password is a configuration error (exit 2) that does not print the password', async () => {
  const { code, stdout, stderr } = await run(['upgrade', '--url', 'postgres://u:S3cret Pass@host:notaport/db', '--dir', 'test/fixtures/shop']);
  assert.is(code, 2);
  assert.ok(stderr.includes('error the database URL from --url is not a valid URL\n'), stderr);
  assert.not.ok(/S3cret|Pass@/.test(stdout + stderr), stdout + stderr);
});

cli('revision writes the next pair after the highest number, and again the one after that', async () => {
  const dir = await tempDir('shop');
  const first = await run(['revision', 'add orders', '--dir', dir]);
  assert.is(first.code, 0, first.stderr);
  assert.equal(lines(first.stdout), [`created ${dir}/0005_add_orders.up.sql`, `created ${dir}/0005_add_orders.down.sql`]);
  assert.ok(existsSync(join(dir, '0005_add_orders.up.sql')) && existsSync(join(dir, '0005_add_orders.down.sql')));
  const second = await run(['revision', 'add orders', '--dir', dir]);
  assert.is(second.code, 0, second.stderr);
  assert.equal(lines(second.stdout), [`created ${dir}/0006_add_orders.up.sql`, `created ${dir}/0006_add_orders.down.sql`]);
  assert.ok(existsSync(join(dir, '0006_add_orders.up.sql')) && existsSync(join(dir, '0006_add_orders.down.sql')));
});

cli('revision turns any name into a safe file name: accents, punctuation, SQL, length', async () => {
  const dir = await tempDir('shop');
  const cases: [string, string][] = [
    ['naïve café', '0005_naive_cafe'],
    ['drop table; --', '0006_drop_table'],
    ['bad/name', '0007_bad_name'],
    ['Straße  ÆON', '0008_strasse_aeon'],
    ['x'.repeat(301), `0009_${'x'.repeat(60)}`],
  ];
  for (const [name, stem] of cases) {
    const { code, stdout, stderr } = await run(['revision', name, '--dir', dir]);
    assert.is(code, 0, stderr);
    assert.equal(lines(stdout), [`created ${dir}/${stem}.up.sql`, `created ${dir}/${stem}.down.sql`]);
  }
  const injected = await run(['revision', 'two\nlines; DROP TABLE x', '--dir', dir]);
  assert.is(injected.code, 0, injected.stderr);
  const header = await readFile(join(dir, '0010_two_lines_drop_table_x.up.sql'), 'utf8');
  assert.is(header.split('\n')[0], '-- 0010_two_lines_drop_table_x: two lines; DROP TABLE x (upgrade)');
});

cli('revision refuses a name with no letter or digit (exit 2) and writes nothing', async () => {
  const dir = await tempDir('shop');
  const before = await readdir(dir);
  const { code, stdout, stderr } = await run(['revision', '?!', '--dir', dir]);
  assert.is(code, 2);
  assert.is(stderr, 'error "?!" has no letter or digit to name a file by\nhint describe the change in a few words, for example "add orders"\n');
  assert.is(stdout, '');
  assert.equal(await readdir(dir), before);
});

cli('upgrade --sql prints the script on stdout without any database (exit 0)', async () => {
  const { code, stdout, stderr } = await run(['upgrade', '--sql', '--dir', 'test/fixtures/shop', '--url', REFUSED]);
  assert.is(code, 0, stderr);
  assert.match(stdout, /^-- dbvc \S+ offline upgrade script\n/);
  assert.ok(stdout.includes('-- Running upgrade 0003 -> 0004\n'), stdout);
  assert.not.ok(stderr.includes('target'), 'no connection is announced');
});

cli('a reader that stops early (--sql | head -1) ends the run quietly, without a stack', async () => {
  const dir = await tempDir();
  for (let i = 1; i <= 400; i++) {
    const stem = `${String(i).padStart(4, '0')}_m`;
    await writeFile(join(dir, `${stem}.up.sql`), `-- ${'x'.repeat(200)}\nSELECT ${i};\n`);
    await writeFile(join(dir, `${stem}.down.sql`), 'SELECT 1;\n');
  }
  const running = start(['upgrade', '--sql', '--dir', dir]);
  running.child.stdout!.once('data', () => running.child.stdout!.destroy());
  const { code, stderr } = await running.done;
  assert.is(stderr, '');
  assert.is(code, 0);
});

cli('bad offline input exits 2 and never writes --out', async () => {
  const dir = await tempDir();
  const cases = [
    ['downgrade', '0002', '--sql'],
    ['upgrade', '0004:0002', '--sql'],
    ['upgrade', '0001:0009', '--sql'],
    ['upgrade', '--out', 'x.sql'],
  ];
  for (const args of cases) {
    const out = join(dir, 'script.sql');
    const { code, stdout, stderr } = await run([...args, '--out', out, '--dir', join(ROOT, 'test/fixtures/shop')], { cwd: dir });
    assert.is(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.is(stdout, '');
    assert.match(stderr, /^error /m);
    assert.not.ok(existsSync(out), `${args.join(' ')} wrote ${out}`);
  }
  const irreversible = await run(['downgrade', 'head:base', '--sql', '--out', join(dir, 'down.sql'), '--dir', join(ROOT, 'test/fixtures/irreversible')]);
  assert.is(irreversible.code, 2);
  assert.ok(irreversible.stderr.includes('no down file'), irreversible.stderr);
  assert.equal(await readdir(dir), []);
});

cli('--sql --out writes a file, or one file per migration into DIR/', async () => {
  const dir = await tempDir();
  const single = await run(['upgrade', '0002:+2', '--sql', '--out', 'review.sql', '--dir', join(ROOT, 'test/fixtures/shop')], { cwd: dir });
  assert.is(single.code, 0, single.stderr);
  assert.match(await readFile(join(dir, 'review.sql'), 'utf8'), /-- range: 0002 -> 0004 \(2 migrations\)/);
  const folder = await run(['downgrade', 'head:0002', '--sql', '--out', 'down/', '--dir', join(ROOT, 'test/fixtures/shop')], { cwd: dir });
  assert.is(folder.code, 0, folder.stderr);
  assert.equal((await readdir(join(dir, 'down'))).sort(), ['001_downgrade_0004_order_totals.sql', '002_downgrade_0003_index_orders.sql']);
});

cli('import-alembic writes one pair per Alembic revision (exit 0) and refuses to write over them (exit 2)', async () => {
  const dir = await tempDir();
  const up = [
    'BEGIN;', '',
    'CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);', '',
    '-- Running upgrade  -> 6173b7ed3174', '', 'CREATE TABLE product (id int);', '',
    "INSERT INTO alembic_version (version_num) VALUES ('6173b7ed3174') RETURNING alembic_version.version_num;", '',
    'COMMIT;', '',
  ].join('\n');
  const down = [
    'BEGIN;', '', '-- Running downgrade 6173b7ed3174 -> ', '', 'DROP TABLE product;', '',
    "DELETE FROM alembic_version WHERE alembic_version.version_num = '6173b7ed3174';", '', 'DROP TABLE alembic_version;', '', 'COMMIT;', '',
  ].join('\n');
  await writeFile(join(dir, 'up.sql'), up);
  await writeFile(join(dir, 'down.sql'), down);
  const first = await run(['import-alembic', 'up.sql', 'down.sql', '--dir', 'sql'], { cwd: dir });
  assert.is(first.code, 0, first.stderr);
  assert.equal(lines(first.stdout), ['wrote sql/0001_alembic_6173b7ed3174.up.sql', 'wrote sql/0001_alembic_6173b7ed3174.down.sql']);
  const upFile = await readFile(join(dir, 'sql/0001_alembic_6173b7ed3174.up.sql'), 'utf8');
  assert.match(upFile, /^-- dbvc:alembic-revision 6173b7ed3174$/m);
  assert.ok(upFile.endsWith('CREATE TABLE product (id int);\n'), upFile);
  const again = await run(['import-alembic', 'up.sql', 'down.sql', '--dir', 'sql'], { cwd: dir });
  assert.is(again.code, 2);
  assert.match(again.stderr, /^error /m);
  assert.equal((await readdir(join(dir, 'sql'))).length, 2);
});

cli.run();

// ---------------------------------------------------------------------------------------------------------------
// Commands against a throwaway database per test.

const db = suite<{ t: TestDatabase }>('cli with a database');

db.before.each(async (context) => {
  context.t = await createDatabase();
});
db.after.each(async (context) => {
  await context.t.drop();
});
db.after(removeTemps);

function on(t: TestDatabase, set: string): string[] {
  return ['--url', t.url, '--dir', set.startsWith('/') ? set : `test/fixtures/${set}`];
}

async function versionOf(t: TestDatabase): Promise<string> {
  const [row] = await t.db`select to_regclass('alembic_version') as present`;
  if (!row.present) return 'base';
  const rows = await t.db`select version_num from alembic_version`;
  return rows.map((r) => r.version_num).join(',') || 'base';
}

async function advisoryLocks(t: TestDatabase): Promise<number> {
  const [{ n }] = await t.db`
    select count(*)::int as n from pg_locks
    where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`;
  return n;
}

db('upgrade applies the shop set, one line per step on stdout (exit 0)', async ({ t }) => {
  const { code, stdout, stderr } = await run(['upgrade', ...on(t, 'shop')]);
  assert.is(code, 0, stderr);
  const out = lines(stdout);
  assert.is(out.length, 5, stdout);
  assert.match(out[0], new RegExp(`^up   0001_create_product  base -> 0001 ${STEP_TIME}$`));
  assert.match(out[1], new RegExp(`^up   0002_add_orders  0001 -> 0002 ${STEP_TIME}$`));
  assert.match(out[2], new RegExp(`^up   0003_index_orders  0002 -> 0003 ${STEP_TIME}$`));
  assert.match(out[3], new RegExp(`^up   0004_order_totals  0003 -> 0004 ${STEP_TIME}$`));
  assert.is(out[4], 'local is now at 0004 (head) (4 migrations applied)');
  assert.match(stderr, /^target local: postgres:\/\/.* \(URL from --url\), schema public$/m);
  assert.is(await versionOf(t), '0004');
});

db('in a log (stdout not a terminal) a step still running after a second is announced on stderr; every step is reported on stdout when done', async ({ t }) => {
  const dir = await tempDir();
  await writeFile(join(dir, '0001_fast.up.sql'), 'CREATE TABLE fast (id int);\n');
  await writeFile(join(dir, '0002_slow.up.sql'), 'SELECT pg_sleep(1.5);\n');
  await writeFile(join(dir, '0003_fast.up.sql'), 'CREATE TABLE fast2 (id int);\n');
  const { code, stdout, stderr } = await run(['upgrade', ...on(t, dir)]);
  assert.is(code, 0, stderr);
  const started = lines(stderr).filter((line) => line.endsWith(', still running'));
  assert.equal(started.map((l) => l.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/, '<time>')), ['up   0002_slow  0001 -> 0002 started <time>, still running']);
  assert.is(lines(stdout).length, 4, stdout); // three steps and the result
});

db('the server NOTICE is a dbvc line on stderr, never on stdout', async ({ t }) => {
  const { code, stdout, stderr } = await run(['upgrade', '2', ...on(t, 'shop')]);
  assert.is(code, 0, stderr);
  assert.ok(lines(stderr).includes('server NOTICE: orders table ready'), stderr);
  assert.not.ok(/NOTICE|orders table ready|severity|\[object/.test(stdout), stdout);
});

db('a second upgrade says there is nothing to do (exit 0)', async ({ t }) => {
  assert.is((await run(['upgrade', ...on(t, 'shop')])).code, 0);
  const { code, stdout, stderr } = await run(['upgrade', ...on(t, 'shop')]);
  assert.is(code, 0, stderr);
  assert.equal(lines(stdout), ['nothing to do: local is already at 0004 (head)']);
});

db('upgrade +2 and downgrade -1 work as typed, with options before or after the step', async ({ t }) => {
  const up = await run(['upgrade', '+2', ...on(t, 'shop')]);
  assert.is(up.code, 0, up.stderr);
  assert.is(lines(up.stdout).at(-1), 'local is now at 0002 (2 migrations applied)');
  assert.is(await versionOf(t), '0002');

  const down = await run(['downgrade', '-1', ...on(t, 'shop')]);
  assert.is(down.code, 0, down.stderr);
  assert.match(lines(down.stdout)[0], new RegExp(`^down 0002_add_orders  0002 -> 0001 ${STEP_TIME}$`));
  assert.is(lines(down.stdout).at(-1), 'local is now at 0001 (1 migration reverted)');
  assert.is(await versionOf(t), '0001');

  const downAgain = await run(['downgrade', ...on(t, 'shop'), '-1']);
  assert.is(downAgain.code, 0, downAgain.stderr);
  assert.is(lines(downAgain.stdout).at(-1), 'local is now at base (1 migration reverted)');
  assert.is(await versionOf(t), 'base');
});

db('history lines up its columns', async ({ t }) => {
  assert.is((await run(['upgrade', ...on(t, 'shop')])).code, 0);
  assert.is((await run(['downgrade', '-1', ...on(t, 'shop')])).code, 0);
  const { code, stdout, stderr } = await run(['history', ...on(t, 'shop')]);
  assert.is(code, 0, stderr);
  const rows = lines(stdout);
  assert.is(rows.length, 5, stdout);
  for (const column of [/ (up|down) /, /create_product|add_orders|index_orders|order_totals/, /(base|\d{4}) -> /, / by /]) {
    const starts = new Set(rows.map((row) => row.search(column)));
    assert.is(starts.size, 1, `${column}: ${stdout}`);
  }
});

db('status with pending migrations exits 0 and lists them on stdout', async ({ t }) => {
  assert.is((await run(['upgrade', '2', ...on(t, 'shop')])).code, 0);
  const { code, stdout, stderr } = await run(['status', ...on(t, 'shop')]);
  assert.is(code, 0, stderr);
  const [{ user }] = await t.db`select current_user as user`;
  assert.equal(lines(stdout).map((l) => l.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/, '<time>')), [
    'current: 0002 (0002_add_orders)',
    'head:    0004',
    'applied: 2, pending: 2',
    `  applied      test/fixtures/shop/0001_create_product.up.sql  <time> by ${user}`,
    `  applied      test/fixtures/shop/0002_add_orders.up.sql  <time> by ${user}`,
    '  pending      test/fixtures/shop/0003_index_orders.up.sql',
    '  pending      test/fixtures/shop/0004_order_totals.up.sql',
  ]);
});

db('status --exit-code with pending migrations exits 3', async ({ t }) => {
  assert.is((await run(['upgrade', '2', ...on(t, 'shop')])).code, 0);
  const { code, stdout } = await run(['status', '--exit-code', ...on(t, 'shop')]);
  assert.is(code, 3);
  assert.ok(lines(stdout).includes('applied: 2, pending: 2'), stdout);
  assert.is((await run(['upgrade', ...on(t, 'shop')])).code, 0);
  assert.is((await run(['status', '--exit-code', ...on(t, 'shop')])).code, 0);
});

db('current, status and history --json print JSON and nothing else on stdout', async ({ t }) => {
  assert.is((await run(['upgrade', '2', ...on(t, 'shop')])).code, 0);

  const current = await run(['current', '--json', ...on(t, 'shop')]);
  assert.is(current.code, 0, current.stderr);
  assert.equal(JSON.parse(current.stdout), { current: '0002', isHead: false, stem: '0002_add_orders' });

  const status = await run(['status', '--json', ...on(t, 'shop')]);
  assert.is(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout);
  assert.is(report.current, '0002');
  assert.is(report.head, '0004');
  assert.equal(report.pending.map((p: { version: string }) => p.version), ['0003', '0004']);
  assert.equal(report.problems, []);

  const history = await run(['history', '--json', ...on(t, 'shop')]);
  assert.is(history.code, 0, history.stderr);
  const rows = JSON.parse(history.stdout);
  assert.equal(rows.map((r: { event: string; version: string }) => [r.event, r.version]), [['up', '0001'], ['up', '0002']]);
  assert.not.ok('upSql' in rows[0] || 'downSql' in rows[0], 'no SQL fields that are always null');
  assert.not.ok(/NOTICE|orders table ready/.test(current.stdout + status.stdout + history.stdout));
});

db("history prints aligned columns; show prints a migration's files, state and history", async ({ t }) => {
  assert.is((await run(['upgrade', ...on(t, 'shop')])).code, 0);
  const history = await run(['history', ...on(t, 'shop')]);
  assert.is(history.code, 0, history.stderr);
  const columns = lines(history.stdout).map((line) => line.indexOf(' by '));
  assert.is(columns.length, 4);
  assert.ok(columns.every((c) => c === columns[0] && c > 0), history.stdout);
  const show = await run(['show', '3', ...on(t, 'shop')]);
  assert.is(show.code, 0, show.stderr);
  const shown = lines(show.stdout);
  assert.match(shown[0], /^0003_index_orders: applied \(up on \d{4}-.*Z by \w+\)$/);
  assert.match(shown[1], /^ {2}up: {3}test\/fixtures\/shop\/0003_index_orders\.up\.sql {2}sha256:[0-9a-f]{64}$/);
  assert.match(shown[2], /^ {2}down: test\/fixtures\/shop\/0003_index_orders\.down\.sql {2}sha256:[0-9a-f]{64}$/);
  assert.is(shown[3], '  history:');
  assert.match(shown[4], /^ {4}\d{4}-.*Z {2}up {2}0003 {2}index_orders {2}0002 -> 0003 {2}by /);
});

db('a failing migration exits 1 with file:line:col, the line, a caret and the SQLSTATE; the database stays at 0001', async ({ t }) => {
  const { code, stdout, stderr } = await run(['upgrade', ...on(t, 'failing')]);
  assert.is(code, 1);
  assert.match(lines(stdout)[0], new RegExp(`^up   0001_create_product  base -> 0001 ${STEP_TIME}$`));
  assert.is(lines(stdout).length, 1, stdout);
  assert.ok(stderr.includes([
    'error test/fixtures/failing/0002_broken.up.sql:5:10: type "textt" does not exist',
    '  5 |     name TEXTT NOT NULL);',
    '    |          ^',
    '  SQLSTATE 42704',
  ].join('\n') + '\n'), stderr);
  assert.is(await versionOf(t), '0001');

  const current = await run(['current', ...on(t, 'failing')]);
  assert.is(current.code, 0, current.stderr);
  assert.match(current.stdout, /^0001/);
  assert.is(lines(current.stdout).length, 1, current.stdout);
});

db('an unknown revision is a usage error (exit 2)', async ({ t }) => {
  const { code, stdout, stderr } = await run(['upgrade', '0009', ...on(t, 'shop')]);
  assert.is(code, 2);
  assert.ok(stderr.includes('error unknown revision "0009"\n'), stderr);
  assert.is(stdout, '');
  assert.is(await versionOf(t), 'base');
});

db('an impossible target (upgrade +9 from base) exits 2 and says what is possible', async ({ t }) => {
  const { code, stdout, stderr } = await run(['upgrade', '+9', ...on(t, 'shop')]);
  assert.is(code, 2);
  assert.ok(stderr.includes('error +9 goes past head (0004)\n'), stderr);
  assert.match(stderr, /^hint .*\+4/m);
  assert.is(stdout, '');
  assert.is(await versionOf(t), 'base');
});

db('a malformed file in the migrations folder exits 2, names the file and runs nothing', async ({ t }) => {
  const dir = await tempDir('shop');
  await writeFile(join(dir, '0002-x.up.sql'), 'SELECT 1;\n');
  const { code, stdout, stderr } = await run(['upgrade', ...on(t, dir)]);
  assert.is(code, 2);
  assert.ok(stderr.includes(join(dir, '0002-x.up.sql')), stderr);
  assert.is(stdout, '');
  assert.is(await versionOf(t), 'base');
});

db('drift: upgrade refuses (exit 3) naming the file and both checksums; repair accepts it and upgrade works again', async ({ t }) => {
  const dir = await tempDir('shop');
  assert.is((await run(['upgrade', '2', ...on(t, dir)])).code, 0);
  const file = join(dir, '0002_add_orders.up.sql');
  const recorded = sha256(await readFile(file, 'utf8'));
  await appendFile(file, '-- edited after it was applied\n');
  const onDisk = sha256(await readFile(file, 'utf8'));

  const refused = await run(['upgrade', ...on(t, dir)]);
  assert.is(refused.code, 3);
  assert.ok(refused.stderr.includes(`error ${file} changed after it was applied\n`), refused.stderr);
  assert.ok(refused.stderr.includes(recorded) && refused.stderr.includes(onDisk), refused.stderr);
  assert.is(refused.stdout, '');
  assert.is(await versionOf(t), '0002');

  const repaired = await run(['repair', ...on(t, dir)]);
  assert.is(repaired.code, 0, repaired.stderr);
  assert.equal(lines(repaired.stdout), [`accepted ${file}`, `  was ${recorded}`, `  now ${onDisk}`]);

  const again = await run(['upgrade', ...on(t, dir)]);
  assert.is(again.code, 0, again.stderr);
  assert.is(lines(again.stdout).at(-1), 'local is now at 0004 (head) (2 migrations applied)');
  assert.is(await versionOf(t), '0004');
});

db('a held migration lock makes upgrade give up (exit 4) naming the holder pid', async ({ t }) => {
  const [{ pid }] = await t.db`select pg_backend_pid() as pid`;
  const [{ locked }] = await t.db`select pg_try_advisory_lock(${LOCK_CLASS}, ${LOCK_KEY}) as locked`;
  assert.ok(locked);
  try {
    const started = Date.now();
    const { code, stdout, stderr } = await run(['upgrade', '--lock-timeout', '1s', ...on(t, 'shop')]);
    assert.is(code, 4);
    assert.ok(Date.now() - started < 10_000);
    assert.ok(stderr.includes('error another dbvc run holds the migration lock for schema "public"'), stderr);
    assert.ok(stderr.includes(`held by pid ${pid} `), stderr);
    assert.is(stdout, '');
    const waiting = lines(stderr).filter((line) => line.startsWith('waiting for'));
    assert.equal(waiting.length, 1, stderr);
    assert.match(waiting[0], new RegExp(`^waiting for the migration lock held by pid ${pid} \\(application "[^"]*", connected since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\), up to 1 s$`));
  } finally {
    await t.db`select pg_advisory_unlock(${LOCK_CLASS}, ${LOCK_KEY})`;
  }
  assert.is(await versionOf(t), 'base');
});

db('SIGINT while 0002 runs exits 130, rolls 0002 back and leaves no lock', async ({ t }) => {
  const running = start(['upgrade', ...on(t, 'cli-sleep')]);
  await waitFor(() => running.output().stdout.includes('up   0001_create_product'), 10_000);
  // make sure pg_sleep is on the server before pressing Ctrl-C (at most ~1.5 s)
  await waitForSleep(t, 1500);
  running.child.kill('SIGINT');
  const signalled = Date.now();
  const { code, stdout, stderr } = await running.done;
  assert.is(code, 130, stderr);
  assert.ok(Date.now() - signalled < 5000, `exited ${Date.now() - signalled} ms after SIGINT`);
  assert.match(stderr, /interrupted/);
  assert.match(stderr, /rolled back/);
  assert.ok(stderr.includes('the database is at 0001'), stderr);
  assert.not.ok(stdout.includes('0002_slow'), stdout);
  assert.is(await versionOf(t), '0001');
  assert.ok(await waitFor(async () => (await advisoryLocks(t)) === 0, 2000), 'an advisory lock is still held');
});

db('SIGINT just after a step committed still stops promptly (exit 130) at that step', async ({ t }) => {
  const running = start(['upgrade', ...on(t, 'cli-sleep')], { timeoutMs: 8000 });
  let signalled = 0;
  // Ctrl-C the moment 0001 is reported, while 0002 is opening its transaction (before its SQL is sent)
  running.child.stdout!.on('data', () => {
    if (signalled || !running.output().stdout.includes('up   0001_create_product')) return;
    signalled = Date.now();
    running.child.kill('SIGINT');
  });
  const { code, stderr } = await running.done;
  assert.ok(signalled > 0, 'step 0001 was never reported');
  assert.ok(Date.now() - signalled < 5000, `exited ${Date.now() - signalled} ms after SIGINT (code ${code})`);
  assert.is(code, 130, stderr);
  assert.is(await versionOf(t), '0001');
});

db('SIGTERM is handled like Ctrl-C: rolled back, exit 130', async ({ t }) => {
  const running = start(['upgrade', ...on(t, 'cli-sleep')]);
  await waitForSleep(t, 10_000);
  running.child.kill('SIGTERM');
  const { code, stderr } = await running.done;
  assert.is(code, 130, stderr);
  assert.match(stderr, /SIGTERM: stopping/);
  assert.is(await versionOf(t), '0001');
});

db.run();
