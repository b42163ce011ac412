// Where the CLI gets its database URL and what it shows of it (issue 13, items 4 and 5): an env file value dotenv
// would cut at #, masking only where a password stands in a URL, and two URL sources that disagree.
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lines, removeTemps, run, start, tempDir } from './helpers/cli.js';
import { freePort } from './helpers/servers.js';
import { createDatabase, type TestDatabase } from './helpers/db.js';

const PROD = 'postgres://app:Pr0dSecret@prod.example.com:5432/app?sslmode=require';

/** A project with target local (sql/local/ holding one migration) and envs/local.env as given. */
async function project(envFile: string): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'envs'));
  await mkdir(join(dir, 'sql', 'local'), { recursive: true });
  await writeFile(join(dir, 'envs', 'local.env'), envFile);
  await writeFile(join(dir, 'sql', 'local', '0001_t.up.sql'), 'CREATE TABLE t (id int);\n');
  await writeFile(join(dir, 'sql', 'local', '0001_t.down.sql'), 'DROP TABLE t;\n');
  return dir;
}

function withPassword(url: string, password: string): string {
  const copy = new URL(url);
  copy.password = password;
  return copy.href;
}

const config = suite<{ t: TestDatabase }>('cli configuration');
config.before.each(async (context) => {
  context.t = await createDatabase();
});
config.after.each(async (context) => {
  await context.t.drop();
});
config.after(removeTemps);

config('a password dotenv would cut at # is refused before connecting, naming the line and never any of the value', async () => {
  for (const line of ['DATABASE_URL=postgres://app:p@ssw0rd#2024@db.example.com/app', 'DATABASE_URL=postgres://app:p@ssw0rd #2024@db.example.com/app']) {
    const dir = await project(`# staging\n${line}\n`);
    const { code, stdout, stderr } = await run(['status'], { cwd: dir });
    assert.is(code, 2, stderr);
    assert.is(stderr, 'error envs/local.env:2: the value of DATABASE_URL holds a #, and dotenv reads the rest of the line as a comment: the value would be cut short\n'
      + 'hint put the value in double quotes (DATABASE_URL="..."), or in a URL write # as %23\n');
    assert.is(stdout, '');
  }
});

config('a quoted value with # and a comment after a value are read as meant', async ({ t }) => {
  const quoted = await project(`DATABASE_URL="${t.url}" # the test database\nDBVC_DDL_LOCK_RETRIES=2 # a note\n`);
  const { code, stderr } = await run(['status'], { cwd: quoted });
  assert.is(code, 0, stderr);
});

config('a password that is also a word is masked in the URL only, never in paths or names', async ({ t }) => {
  const dir = await project('');
  const url = withPassword(t.url, 'local');
  const { code, stdout, stderr } = await run(['status', '--url', url], { cwd: dir });
  assert.is(code, 0, stderr);
  const masked = withPassword(t.url, '***').replace('%2A%2A%2A', '***');
  assert.ok(stderr.includes(`target local: ${masked} (URL from --url), schema public\n`), stderr);
  assert.ok(stdout.includes('  pending      sql/local/0001_t.up.sql\n'), stdout);
  assert.not.ok(stdout.includes('***') || stderr.includes(':local@'), stdout + stderr);
});

config('envs/local.env and DATABASE_URL naming different databases are refused, naming both with passwords masked', async ({ t }) => {
  const dir = await project(`DATABASE_URL=${t.url}\n`);
  const refused = await run(['upgrade'], { cwd: dir, env: { DATABASE_URL: PROD } });
  assert.is(refused.code, 2, refused.stderr);
  const fromFile = new URL(t.url).href;
  assert.equal(lines(refused.stderr), [
    `error two database URLs for target "local" name different databases: envs/local.env says ${fromFile}, the DATABASE_URL environment variable says postgres://app:***@prod.example.com:5432/app?sslmode=require`,
    'hint choose with --url, or unset DATABASE_URL, or remove it from envs/local.env; nothing was run',
  ]);
  assert.not.ok(refused.stderr.includes('Pr0dSecret'));

  const embedded = await run(['status'], { cwd: await project('DATABASE_URL=embedded\n'), env: { DATABASE_URL: PROD } });
  assert.is(embedded.code, 2);
  assert.match(embedded.stderr, /envs\/local\.env says embedded, the DATABASE_URL environment variable says postgres:\/\/app:\*\*\*@prod/);

  const same = await run(['upgrade'], { cwd: dir, env: { DATABASE_URL: withPassword(t.url, 'other') } });
  assert.is(same.code, 0, same.stderr);
  const chosen = await run(['status', '--url', t.url], { cwd: dir, env: { DATABASE_URL: PROD } });
  assert.is(chosen.code, 0, chosen.stderr);
});

config('DBVC_SCHEMA in the env file chooses the schema; an unknown DBVC_ key is refused by name', async ({ t }) => {
  const dir = await project(`DATABASE_URL=${t.url}\nDBVC_SCHEMA=ops\n`);
  const { code, stderr } = await run(['upgrade'], { cwd: dir });
  assert.is(code, 0, stderr);
  assert.match(stderr, /^target local: .* \(URL from envs\/local\.env\), schema ops$/m);
  const [{ version }] = await t.db`select version_num as version from ops.alembic_version`;
  assert.is(version, '0001');

  const typo = await project(`DATABASE_URL=${t.url}\nDBVC_SCHEME=ops\n`);
  const refused = await run(['status'], { cwd: typo });
  assert.is(refused.code, 2);
  assert.is(refused.stderr, 'error envs/local.env sets DBVC_SCHEME, which dbvc does not know\n'
    + 'hint the settings dbvc reads there: DATABASE_URL, DBVC_SCHEMA, DBVC_DDL_LOCK_TIMEOUT, DBVC_DDL_LOCK_RETRIES, DBVC_URLS_FILE\n');
});

config('a role without CREATE on public (PostgreSQL 15+) is told the GRANT or --schema that fixes it (exit 2), not an internal error', async ({ t }) => {
  const role = `dbvc_app_${t.name.slice(-10)}`;
  await t.db.unsafe(`create role ${role} login`);
  try {
    await t.db.unsafe(`revoke create on schema public from public`); // the default since PostgreSQL 15
    const url = new URL(t.url);
    url.username = role;
    const { code, stdout, stderr } = await run(['upgrade', '--url', url.href, '--dir', 'test/fixtures/shop']);
    assert.is(code, 2, stderr);
    assert.is(stdout, '');
    assert.equal(lines(stderr).slice(1), [
      `error role ${role} may not do what dbvc's bookkeeping in schema public needs: permission denied for schema public (SQLSTATE 42501)`,
      `hint run GRANT CREATE ON SCHEMA public TO ${role} (as the owner or a superuser), or keep alembic_version and dbvc_history in a schema ${role} owns: --schema NAME (or DBVC_SCHEMA in the env file)`,
    ]);
    const newSchema = await run(['upgrade', '--url', url.href, '--dir', 'test/fixtures/shop', '--schema', 'ops']);
    assert.is(newSchema.code, 2, newSchema.stderr);
    assert.ok(newSchema.stderr.includes(`permission denied for database ${t.name} (SQLSTATE 42501)\nhint run GRANT CREATE ON DATABASE ${t.name} TO ${role} (as the owner`), newSchema.stderr);
  } finally {
    await t.db.unsafe(`drop owned by ${role}`);
    await t.db.unsafe(`drop role ${role}`);
  }
});

config('a read-only database is refused before anything runs (exit 2); read-only commands still work', async ({ t }) => {
  await t.db.unsafe(`alter database ${t.name} set default_transaction_read_only = on`);
  const { code, stdout, stderr } = await run(['upgrade', '--url', t.url, '--dir', 'test/fixtures/shop']);
  assert.is(code, 2, stderr);
  assert.is(stdout, '');
  const shown = new URL(t.url).href;
  assert.equal(lines(stderr).slice(1), [
    `error ${shown} only accepts read-only transactions (default_transaction_read_only is on): dbvc cannot move it`,
    'hint point the URL at the primary server (its read-write endpoint); nothing was run',
  ]);
  const status = await run(['status', '--url', t.url, '--dir', 'test/fixtures/shop']);
  assert.is(status.code, 0, status.stderr);
  await t.db.unsafe(`alter database ${t.name} reset default_transaction_read_only`);
});

config('--wait waits for a server that starts listening later; without it a refused connection fails at once (exit 5)', async ({ t }) => {
  const port = await freePort();
  const url = new URL(t.url);
  const target = url.searchParams.get('host') ? { path: `${url.searchParams.get('host')}/.s.PGSQL.${url.searchParams.get('port') ?? 5432}` } : { host: url.hostname, port: Number(url.port || 5432) };
  const viaProxy = `postgres://${url.username}@127.0.0.1:${port}${url.pathname}?sslmode=disable`;
  const refused = await run(['status', '--url', viaProxy, '--dir', 'test/fixtures/shop']);
  assert.is(refused.code, 5, refused.stderr);

  const waiting = start(['status', '--wait', '--wait-timeout', '20s', '--url', viaProxy, '--dir', 'test/fixtures/shop'], { timeoutMs: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const proxy = createServer((client) => {
    const upstream = connect(target);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  try {
    const { code, stdout, stderr } = await waiting.done;
    assert.is(code, 0, stderr);
    assert.ok(stdout.includes('applied: 0, pending: 4\n'), stdout);
    const said = lines(stderr).filter((line) => line.startsWith('waiting for'));
    assert.equal(said, [`waiting for postgres://${url.username}@127.0.0.1:${port}${url.pathname}?sslmode=disable to accept connections (up to 20 s): nothing is listening on 127.0.0.1:${port} (connection refused)`]);
    assert.is(lines(stderr).filter((line) => line.startsWith('target ')).length, 1, stderr);
  } finally {
    proxy.close();
  }
});

config('the options URL parameter reaches the server as libpq sends it (Neon: options=endpoint%3D...)', async ({ t }) => {
  const url = new URL(t.url);
  url.searchParams.set('options', '-c default_transaction_read_only=on');
  const { code, stderr } = await run(['upgrade', '--url', url.href, '--dir', 'test/fixtures/shop']);
  assert.is(code, 2, stderr);
  assert.match(stderr, /only accepts read-only transactions \(default_transaction_read_only is on\): dbvc cannot move it$/m);
});

config.run();
