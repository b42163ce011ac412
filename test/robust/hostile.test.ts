// Hostile input, table-driven: odd file names and contents, target names, schemas, revision arguments, URLs,
// passwords and env files. Each case expects an exit code, a message naming the file or option, and (for errors)
// nothing applied to the database.
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConsistency, versionsIn } from '../helpers/consistency.js';
import { createDatabase, fixture, type TestDatabase } from '../helpers/db.js';
import { makeTempDir, secret, startCli, startServer, stopAll, withPassword, type CliResult, type TestServer } from '../helpers/servers.js';

const FIXTURE = fixture('robust-deploy'); // 0001..0005, each creating m_<version>
const PASSWORD = secret('hostile');
// a password holding every character that must be percent-encoded in a URL, each piece marked for the scan
const SPECIAL = `${secret('a')}@${secret('b')}:${secret('c')}/${secret('d')}%${secret('e')}`;
const MB50 = 50 * 1024 * 1024;

interface Setup {
  project: string; // the working directory: envs/ and sql/hostile/ (a copy of robust-deploy)
  dir: string; // sql/hostile
  url: string; // the shared database, which must stay untouched by every error case
}

interface HostileCase {
  name: string;
  setup?(s: Setup): Promise<void>;
  args(s: Setup): string[];
  code: number;
  says: (string | RegExp)[]; // each must be in stderr
  timeoutMs?: number;
  /** for cases that succeed: check the database they used (default for errors: nothing applied to the shared one) */
  check?(t: TestDatabase, result: CliResult): Promise<void>;
  ownDatabase?: boolean; // run against a fresh database (cases that apply something)
}

const file = (name: string, content: string | Buffer) => async (s: Setup) => writeFile(join(s.dir, name), content);
const up = (s: Setup, ...rest: string[]) => ['upgrade', '--db', 'hostile', '--url', s.url, ...rest];
const badName = (name: string): HostileCase => ({
  name: `a file named ${JSON.stringify(name)}`,
  setup: file(name, 'CREATE TABLE m_0006 (id int);\n'),
  args: (s) => up(s),
  code: 2,
  says: [`sql/hostile/${name} has a name with characters other than letters, digits and _`],
});

const cases: HostileCase[] = [
  badName("0006_it's.up.sql"),
  badName('0006_two words.up.sql'),
  badName('0006_café.up.sql'),
  badName('0006_x";drop table m_0001;--.up.sql'),
  badName('0006_new\nline.up.sql'),
  {
    name: 'a version longer than 32 characters',
    setup: file(`${'0'.repeat(32)}6_long.up.sql`, 'SELECT 1;\n'),
    args: (s) => up(s), code: 2,
    says: [`sql/hostile/${'0'.repeat(32)}6_long.up.sql has a version of 33 digits; alembic_version holds at most 32`],
  },
  {
    name: 'invalid UTF-8', setup: file('0006_latin1.up.sql', Buffer.from([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x27, 0xe9, 0x27, 0x3b, 0x0a])),
    args: (s) => up(s), code: 2, says: ['sql/hostile/0006_latin1.up.sql is not valid UTF-8'],
  },
  {
    name: 'a NUL byte', setup: file('0006_nul.up.sql', Buffer.from('SELECT 1;\0\n')),
    args: (s) => up(s), code: 2, says: ['sql/hostile/0006_nul.up.sql contains a NUL byte'],
  },
  { name: 'an empty file', setup: file('0006_empty.up.sql', ''), args: (s) => up(s), code: 2, says: ['sql/hostile/0006_empty.up.sql has no SQL statement'] },
  {
    name: 'a psql meta-command', setup: file('0006_meta.up.sql', '-- load the rest\n\\i other.sql\n'),
    args: (s) => up(s), code: 2, says: ['sql/hostile/0006_meta.up.sql:2 holds a psql meta-command (\\i)'],
  },
  {
    name: 'an unknown directive', setup: file('0006_directive.up.sql', '-- dbvc:frobnicate\nSELECT 1;\n'),
    args: (s) => up(s), code: 2, says: ['sql/hostile/0006_directive.up.sql:1 has an unknown directive "dbvc:frobnicate"'],
  },
  {
    name: 'a directory named like a migration', setup: async (s) => mkdir(join(s.dir, '0006_dir.up.sql')),
    args: (s) => up(s), code: 2, says: ['sql/hostile/0006_dir.up.sql is a directory, not a migration file'],
  },
  {
    name: 'a symlink loop named like a migration', setup: async (s) => symlink('0006_loop.up.sql', join(s.dir, '0006_loop.up.sql')),
    args: (s) => up(s), code: 2, says: ['sql/hostile/0006_loop.up.sql is a special file or broken link, not a migration file'],
  },
  {
    name: 'a symlink to the folder itself named like a migration', setup: async (s) => symlink('.', join(s.dir, '0006_self.up.sql')),
    args: (s) => up(s), code: 2, says: ['sql/hostile/0006_self.up.sql is a directory, not a migration file'],
  },
  {
    name: 'a migrations folder that is a symlink loop', setup: async (s) => symlink('loop', join(s.project, 'loop')),
    args: (s) => ['upgrade', '--dir', 'loop', '--url', s.url], code: 2, says: ['the migrations folder loop cannot be read (ELOOP)'],
  },
  {
    name: '--dir naming a file', args: (s) => ['upgrade', '--dir', 'sql/hostile/0001_create_m.up.sql', '--url', s.url], code: 2,
    says: ['the migrations folder sql/hostile/0001_create_m.up.sql is not a directory'],
  },
  { name: 'an upper-case extension', setup: file('0006_x.UP.SQL', 'SELECT 1;\n'), args: (s) => up(s), code: 2, says: ['sql/hostile/0006_x.UP.SQL has an upper-case extension'] },
  { name: 'a dash instead of _', setup: file('0006-x.up.sql', 'SELECT 1;\n'), args: (s) => up(s), code: 2, says: ['sql/hostile/0006-x.up.sql needs a _ between the version and the name'] },
  { name: 'no direction', setup: file('0006_x.sql', 'SELECT 1;\n'), args: (s) => up(s), code: 2, says: ['sql/hostile/0006_x.sql does not end in .up.sql or .down.sql'] },
  { name: 'a down file without its up', setup: file('0006_x.down.sql', 'SELECT 1;\n'), args: (s) => up(s), code: 2, says: ['sql/hostile/0006_x.down.sql is a down file without an up file'] },
  {
    name: 'the same version written twice (5_ beside 0005_)', setup: file('5_again.up.sql', 'SELECT 1;\n'),
    args: (s) => up(s), code: 2, says: [/sql\/hostile\/(5_again|0005_view)\.up\.sql has the same version number as (0005_view|5_again)\.up\.sql/],
  },
  { name: 'a target name with ../', args: (s) => ['upgrade', '--db', '../etc', '--url', s.url], code: 2, says: ['--db "../etc" is not a target name'] },
  { name: 'a target name with a / inside', args: (s) => ['status', '--db', 'a/../../b', '--url', s.url], code: 2, says: ['--db "a/../../b" is not a target name'] },
  { name: 'an empty target name', args: (s) => ['status', '--db', '', '--url', s.url], code: 2, says: ['--db "" is not a target name'] },
  { name: 'a revision with SQL in it', args: (s) => up(s, '0001; DROP TABLE x'), code: 2, says: ['unknown revision "0001; DROP TABLE x"'] },
  { name: 'a downgrade target with a quote', args: (s) => ['downgrade', "base'; --", '--db', 'hostile', '--url', s.url], code: 2, says: [`unknown revision "base'; --"`] },
  { name: 'a stamp target with a quote', args: (s) => ['stamp', "0001' OR '1'='1", '--db', 'hostile', '--url', s.url], code: 2, says: [`unknown revision "0001' OR '1'='1"`] },
  { name: 'a huge relative step', args: (s) => up(s, '+99999999999999999999999'), code: 2, says: [/\+99999999999999999999999/] },
  { name: 'an empty --schema', args: (s) => up(s, '--schema', ''), code: 2, says: ['--schema must be a name of 1 to 63 bytes'] },
  { name: 'a --schema of 64 bytes', args: (s) => up(s, '--schema', 'é'.repeat(32)), code: 2, says: ['--schema must be a name of 1 to 63 bytes'] },
  { name: 'a --lock-timeout that is not a duration', args: (s) => up(s, '--lock-timeout', 'forever'), code: 2, says: ['--lock-timeout "forever" is not a duration'] },
  {
    name: 'a URL parameter dbvc does not support (krbsrvname=...)', args: (s) => ['upgrade', '--db', 'hostile', '--url', `${s.url}${s.url.includes('?') ? '&' : '?'}krbsrvname=evil`], code: 2,
    says: ['the database URL from --url has a parameter dbvc does not support: krbsrvname'],
  },
  { name: 'a URL that is not postgres://', args: () => ['status', '--db', 'hostile', '--url', `mysql://root:${PASSWORD}@127.0.0.1/db`], code: 2, says: ['the database URL from --url does not start with postgres:// or postgresql://'] },
  {
    name: 'a password with an unencoded /', args: () => ['status', '--db', 'hostile', '--url', `postgres://app:${secret('x')}/${secret('y')}@127.0.0.1/db`], code: 2,
    says: ['error the database URL from --url is not a valid URL', 'percent-encode @ : / % # in the password'],
  },
  {
    // a valid URL all the same: user app, host "app", port 5150, path "/2024@127.0.0.1/db"
    name: 'a password with an unencoded / that still parses as a URL', args: () => ['status', '--db', 'hostile', '--url', 'postgres://app:5150/2024@127.0.0.1/db'], code: 2,
    says: ['the database URL from --url has characters in its user or password that must be percent-encoded'],
  },
  { name: 'a numeric target name (--db 2024)', args: (s) => ['upgrade', '--db', '2024', '--url', s.url], code: 2, says: ['unknown target "2024": there is no sql/2024/ and no envs/2024.env'] },
  { name: 'a numeric --dir (--dir 5)', args: (s) => ['upgrade', '--dir', '5', '--url', s.url], code: 2, says: ['the migrations folder 5 does not exist'] },
  {
    name: 'a numeric schema (--schema 123) is a name like any other', args: (s) => ['status', '--db', 'hostile', '--schema', '123', '--url', s.url], code: 0,
    says: [/schema 123$/m], check: async (t) => assertUntouched(t, 'numeric schema'),
  },
  {
    name: 'a bare number of seconds (--lock-timeout 30), as parseDuration allows', args: (s) => ['status', '--db', 'hostile', '--lock-timeout', '30', '--url', s.url], code: 0,
    says: [], check: async (t) => assertUntouched(t, 'bare lock timeout'),
  },
  {
    name: 'an env file without DATABASE_URL', setup: async (s) => writeFile(join(s.project, 'envs', 'hostile.env'), `# nothing here\nPGUSER=app\n`),
    args: () => ['upgrade', '--db', 'hostile'], code: 2, says: ['no database URL for target "hostile": envs/hostile.env has no DATABASE_URL'],
  },
  {
    name: 'an env file that is not valid dotenv', setup: async (s) => writeFile(join(s.project, 'envs', 'hostile.env'), `DATABASE_URL=postgres://app:${PASSWORD}@127.0.0.1/db\nthis is not a setting\n`),
    args: () => ['upgrade', '--db', 'hostile'], code: 2, says: ['envs/hostile.env:2 is not a KEY=value line'],
  },
  {
    name: 'an env file that is a directory', setup: async (s) => mkdir(join(s.project, 'envs', 'hostile.env')),
    args: () => ['upgrade', '--db', 'hostile'], code: 2, says: ['envs/hostile.env cannot be read (EISDIR)'],
  },
  {
    name: 'a 50 MB file with an error on its last line: file:line, bounded output, rolled back',
    setup: async (s) => writeFile(join(s.dir, '0001_create_m.up.sql'), `CREATE TABLE m_0001 (id int);\n-- ${'x'.repeat(MB50)}\nSELEC broken;\n`),
    args: (s) => up(s), code: 1, timeoutMs: 60_000, says: ['error sql/hostile/0001_create_m.up.sql:3:1: syntax error at or near "SELEC"', '  3 | SELEC broken;'],
  },
  {
    name: 'a 50 MB file on one line with an error at its end: bounded output, in linear time',
    setup: async (s) => writeFile(join(s.dir, '0001_create_m.up.sql'), `CREATE TABLE m_0001 (id int); SELECT '${'x'.repeat(MB50)}' AS big; SELEC broken;\n`),
    args: (s) => up(s), code: 1, timeoutMs: 60_000, says: [/^error sql\/hostile\/0001_create_m\.up\.sql:1:\d+: syntax error at or near "SELEC"$/m],
  },
  {
    name: 'a valid 50 MB file is applied (exit 0)', ownDatabase: true,
    setup: async (s) => writeFile(join(s.dir, '0005_view.up.sql'), `-- ${'x'.repeat(MB50)}\nCREATE VIEW m_0005 AS SELECT 1 AS one;\n`),
    args: (s) => up(s), code: 0, timeoutMs: 60_000, says: [],
    check: async (t) => assert.equal(await checkConsistency(t.db, { versions: await versionsIn(FIXTURE), isUpOnly: true }), []),
  },
  {
    name: 'a BOM and CRLF line endings: applied, and no drift when the applied file is rewritten with them', ownDatabase: true,
    setup: async (s) => {
      const text = await readFile(join(s.dir, '0002_add_child.up.sql'), 'utf8');
      await writeFile(join(s.dir, '0002_add_child.up.sql'), '\uFEFF' + text.replace(/\n/g, '\r\n'));
    },
    args: (s) => up(s), code: 0, says: [],
    check: async (t, result) => {
      assert.match(result.stdout, /local is now at 0005 \(head\)|hostile is now at 0005 \(head\)/);
      assert.equal(await checkConsistency(t.db, { versions: await versionsIn(FIXTURE), isUpOnly: true }), []);
    },
  },
];

const SCHEMAS = ['my schema', 'x"; DROP TABLE canary; --', 'Ünïcödé', 'a.b', 'UPPER', "it's"];

const test = suite<{ t: TestDatabase; server: TestServer; passwordUrl: string }>('robust: hostile input');

test.before(async (context) => {
  context.t = await createDatabase();
  await context.t.db`create table canary (id int)`;
  context.server = await startServer({ hba: ['local all all trust', 'host all all 127.0.0.1/32 scram-sha-256'] });
  const admin = context.server.admin();
  await admin.unsafe(`create role app login password '${SPECIAL}'`);
  await admin.end();
});
test.after(async (context) => {
  await context.t?.drop();
  await stopAll();
});

async function newProject(url: string): Promise<Setup> {
  const project = await makeTempDir('hostile');
  const dir = join(project, 'sql', 'hostile');
  await mkdir(join(project, 'envs'));
  await cp(FIXTURE, dir, { recursive: true });
  return { project, dir, url };
}

/** Nothing applied: no migration's table, alembic_version absent or empty (a failed first migration may have created it), no new schema. */
async function assertUntouched(t: TestDatabase, label: string): Promise<void> {
  const [row] = await t.db`select to_regclass('alembic_version') is not null as v, to_regclass('m_0001') as m, to_regclass('canary') as c`;
  assert.equal({ m: row.m, c: row.c }, { m: null, c: 'canary' }, `${label}: nothing applied`);
  if (row.v) {
    assert.equal([...(await t.db`select version_num from alembic_version`)], [], `${label}: alembic_version is empty`);
    assert.equal([...(await t.db`select event from dbvc_history where event <> 'failed'`)], [], `${label}: no history`);
  }
  const schemas = await t.db`select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname not in ('public', 'information_schema')`;
  assert.equal(schemas.map((r) => r.nspname), [], `${label}: no schema created`);
}

test(`${cases.length} hostile inputs: each a specific exit code and a message naming the file or option; nothing applied`, async (context) => {
  assert.ok(cases.length >= 30, 'at least 30 cases');
  const failures: string[] = [];
  for (const c of cases) {
    const own = c.ownDatabase ? await createDatabase() : undefined;
    try {
      const t = own ?? context.t;
      const s = await newProject(withPassword(t.url, PASSWORD));
      await c.setup?.(s);
      const result = await startCli(c.args(s), { cwd: s.project, timeoutMs: c.timeoutMs ?? 20_000 }).done;
      const said = `${c.name}: exit ${result.code ?? result.signal} after ${Math.round(result.ms)} ms, stderr ${result.stderr.length} bytes:\n${result.stderr.slice(0, 600)}`;
      try {
        assert.is(result.code, c.code, said);
        for (const text of c.says) {
          if (typeof text === 'string') assert.ok(result.stderr.includes(text), `${said}\nexpected: ${text}`);
          else assert.match(result.stderr, text, said);
        }
        if (c.code !== 0) {
          assert.ok(result.stderr.length < 10_000, `${said}\nthe error output is bounded`);
          assert.is(result.stdout, '', said);
          assert.not.match(result.stderr, /internal error/, said);
        }
        if (c.check) await c.check(t, result);
        else await assertUntouched(t, c.name);
      } catch (error) {
        failures.push((error as Error).message.split('\n').slice(0, 8).join('\n'));
      }
    } finally {
      await own?.drop();
    }
  }
  assert.equal(failures, [], `${failures.length} of ${cases.length} cases failed:\n\n${failures.join('\n\n')}`);
});

test('passwords with @ : / % work when percent-encoded, and are never shown', async ({ server }) => {
  const result = await startCli(['status', '--url', server.url('postgres', { user: 'app', password: SPECIAL }), '--dir', FIXTURE]).done;
  assert.is(result.code, 0, result.stderr);
  assert.ok(result.stderr.includes(`postgres://app:***@127.0.0.1:${server.port}/postgres`), result.stderr);
  const fromEnv = await newProject('');
  await writeFile(join(fromEnv.project, 'envs', 'hostile.env'), `# as a provider hands it out\nDATABASE_URL="${server.url('postgres', { user: 'app', password: SPECIAL })}"\n`);
  const viaEnv = await startCli(['status', '--db', 'hostile'], { cwd: fromEnv.project }).done;
  assert.is(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stderr, /\(URL from envs\/hostile\.env\)/);
});

test(`--schema values that need quoting are quoted, never injected (${SCHEMAS.length} schemas)`, async () => {
  const t = await createDatabase();
  try {
    await t.db`create table canary (id int)`;
    const dir = await makeTempDir('schemas');
    for (const v of ['0001', '0002']) {
      await writeFile(join(dir, `${v}_noop.up.sql`), 'SELECT 1;\n');
      await writeFile(join(dir, `${v}_noop.down.sql`), 'SELECT 1;\n');
    }
    const url = withPassword(t.url, PASSWORD);
    const failures: string[] = [];
    for (const schema of SCHEMAS) {
      const run = (...args: string[]) => startCli([...args, '--url', url, '--dir', dir, '--schema', schema]).done;
      try {
        const upgraded = await run('upgrade');
        assert.is(upgraded.code, 0, `--schema ${schema}: upgrade: ${upgraded.stderr}`);
        assert.ok(upgraded.stderr.split('\n').some((line) => line.startsWith('target local: ') && line.endsWith(`, schema ${schema}`)), upgraded.stderr);
        const down = await run('downgrade', '-1');
        assert.is(down.code, 0, `--schema ${schema}: downgrade: ${down.stderr}`);
        const history = await run('history', '--json');
        assert.is(history.code, 0, `--schema ${schema}: history: ${history.stderr}`);
        assert.equal(JSON.parse(history.stdout).map((r: { event: string }) => r.event), ['up', 'up', 'down'], schema);
        const [row] = await t.db.unsafe(`select version_num from "${schema.replace(/"/g, '""')}".alembic_version`);
        assert.is(row.version_num, '0001', schema);
      } catch (error) {
        failures.push((error as Error).message.split('\n').slice(0, 4).join('\n'));
      }
    }
    assert.equal(failures, [], failures.join('\n\n'));
    const schemas = await t.db`select nspname from pg_namespace where nspname = any(${SCHEMAS}) order by 1`;
    assert.equal(schemas.map((r) => r.nspname), [...SCHEMAS].sort(), 'exactly these schemas, named as typed');
    const [{ canary }] = await t.db`select to_regclass('canary') is not null as canary`;
    assert.ok(canary, 'nothing was injected');
    assert.equal((await t.db`select to_regclass('public.alembic_version') as v`)[0].v, null, 'nothing in public');
  } finally {
    await t.drop();
  }
});

test.run();
