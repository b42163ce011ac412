import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDatabaseUrl, resolveConfig, type Flags } from '../../src/config.js';
import { DbvcError } from '../../src/core/errors.js';
import { caught } from '../helpers/common.js';

const test = suite('config');

const SECRET = 'Sup3rS3cret';
const roots: string[] = [];

/** A throwaway project folder holding the given files (paths relative to it). */
function project(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'dbvc-config-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test.after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});


/** code, message and hint of an error, after checking that no part of it shows the secret. */
function shown(error: DbvcError, secret = SECRET) {
  const everything = [error.message, error.hint ?? '', ...error.lines, error.file ?? '', String(error), error.stack ?? ''].join('\n');
  assert.not.ok(everything.includes(secret), `error shows the password: ${error.message}`);
  return { code: error.code, message: error.message, hint: error.hint };
}

function server(url: string, env: NodeJS.ProcessEnv = {}, root = project()) {
  const parsed = parseDatabaseUrl(url, '--url', env, root);
  if (parsed.kind !== 'url') throw new Error(`expected a url server, got ${parsed.kind}`);
  return parsed;
}

const resolve = (flags: Flags, env: NodeJS.ProcessEnv, root: string) => resolveConfig(flags, env, root);

// where the URL comes from

test('a full config: envs/<db>.env, the folder, defaults; frozen', () => {
  const root = project({ 'envs/aiven.env': `# Aiven\nDATABASE_URL=postgres://app:${SECRET}@db.example.com/app?sslmode=require\n` });
  const config = resolve({ db: 'aiven' }, {}, root);
  assert.equal(config, {
    db: 'aiven',
    root,
    migrationsDir: join(root, 'sql', 'aiven'),
    migrationsLabel: 'sql/aiven',
    server: {
      kind: 'url',
      host: 'db.example.com',
      port: 5432,
      database: 'app',
      username: 'app',
      password: SECRET,
      ssl: 'require',
      sslmode: 'require',
      connectTimeout: 10,
      display: 'postgres://app:***@db.example.com/app?sslmode=require',
      targetSessionAttrs: 'any',
      options: undefined,
      clientCert: undefined,
      tlsFiles: { sslrootcert: undefined, sslcert: undefined, sslkey: undefined },
      alternates: [],
    },
    urlSource: 'envs/aiven.env',
    schema: 'public',
    lockTimeoutMs: 30_000,
    ddlLockRetries: 0,
    waitMs: undefined,
  });
  assert.ok(Object.isFrozen(config));
});

test('precedence: --url beats envs/<db>.env beats the DATABASE_URL environment variable, which may not name another database', () => {
  const root = project({ 'envs/aiven.env': 'DATABASE_URL=postgres://u@from-file/db\n', 'envs/neon.env.example': '' });
  const env = { DATABASE_URL: 'postgres://u@from-env/db' };
  const withFlag = resolve({ db: 'aiven', url: 'postgres://u@from-flag/db' }, env, root);
  assert.equal([withFlag.urlSource, withFlag.server.kind === 'url' && withFlag.server.host], ['--url', 'from-flag']);
  const withFile = resolve({ db: 'aiven' }, {}, root);
  assert.equal([withFile.urlSource, withFile.server.kind === 'url' && withFile.server.host], ['envs/aiven.env', 'from-file']);
  const agreeing = resolve({ db: 'aiven' }, { DATABASE_URL: 'postgres://other:pw@from-file:5432/db' }, root);
  assert.equal([agreeing.urlSource, agreeing.server.kind === 'url' && agreeing.server.username], ['envs/aiven.env', 'u']);
  assert.equal(shown(caught(() => resolve({ db: 'aiven' }, env, root))), {
    code: 'config',
    message: 'two database URLs for target "aiven" name different databases: envs/aiven.env says postgres://u@from-file/db, the DATABASE_URL environment variable says postgres://u@from-env/db',
    hint: 'choose with --url, or unset DATABASE_URL, or remove it from envs/aiven.env; nothing was run',
  });
  const withEnv = resolve({ db: 'neon' }, env, root);
  assert.equal([withEnv.urlSource, withEnv.server.kind === 'url' && withEnv.server.host], ['the DATABASE_URL environment variable', 'from-env']);
});

test('an env file without DATABASE_URL falls through to the environment', () => {
  const root = project({ 'envs/aiven.env': 'OTHER=1\n' });
  const config = resolve({ db: 'aiven' }, { DATABASE_URL: 'postgres://u@from-env/db' }, root);
  assert.is(config.urlSource, 'the DATABASE_URL environment variable');
});

test('the env file is read without touching process.env', () => {
  const root = project({ 'envs/aiven.env': 'DATABASE_URL=postgres://u@h/db\nENV_FILE_TEST_MARKER=1\n' });
  resolve({ db: 'aiven' }, {}, root);
  assert.is(process.env.ENV_FILE_TEST_MARKER, undefined);
});

test('no URL anywhere and no env file: says so and how to create it', () => {
  assert.equal(shown(caught(() => resolve({ db: 'neon' }, {}, project()))), {
    code: 'config',
    message: 'no database URL for target "neon": envs/neon.env does not exist, and neither --url nor DATABASE_URL is set',
    hint: 'create envs/neon.env holding DATABASE_URL=postgres://..., or pass --url',
  });
});

test('an env file without DATABASE_URL and nothing else: says what to add', () => {
  const root = project({ 'envs/aiven.env': `PGPASSWORD=${SECRET}\n` });
  assert.equal(shown(caught(() => resolve({ db: 'aiven' }, {}, root))), {
    code: 'config',
    message: 'no database URL for target "aiven": envs/aiven.env has no DATABASE_URL, and neither --url nor DATABASE_URL is set',
    hint: 'add DATABASE_URL=postgres://... to envs/aiven.env',
  });
});

test('a malformed env file line is reported by number, without its content', () => {
  const root = project({ 'envs/aiven.env': `# comment\n\nDATABASE_URL=postgres://app:${SECRET}@h/db\npassword ${SECRET}\n` });
  const error = caught(() => resolve({ db: 'aiven' }, {}, root));
  assert.equal(shown(error), { code: 'config', message: 'envs/aiven.env:4 is not a KEY=value line', hint: 'env files hold KEY=value lines and # comments' });
  assert.is(error.file, 'envs/aiven.env');
});

test('line numbers count the lines of a multi-line quoted value', () => {
  const root = project({ 'envs/aiven.env': 'CA="-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----"\nDATABASE_URL=postgres://u@h/db\noops\n' });
  assert.is(caught(() => resolve({ db: 'aiven' }, {}, root)).message, 'envs/aiven.env:5 is not a KEY=value line');
});

test('export KEY=value, quoted values and comments are accepted', () => {
  const root = project({ 'envs/aiven.env': '# x\nexport OTHER=1\nDATABASE_URL="postgres://u@quoted/db" # trailing\n' });
  const config = resolve({ db: 'aiven' }, {}, root);
  assert.is(config.server.kind === 'url' && config.server.host, 'quoted');
});

test('a target name with ../ or a slash is refused', () => {
  for (const db of ['../etc', '..', 'a/b', '.hidden', 'a b']) {
    assert.equal(shown(caught(() => resolve({ db }, { DATABASE_URL: 'postgres://u@h/db' }, project()))), {
      code: 'usage',
      message: `--db "${db}" is not a target name`,
      hint: 'use letters, digits, - and _ (for example --db aiven)',
    });
  }
});

test('DATABASE_URL=embedded selects the embedded server under .dbvc/<db>', () => {
  const root = project({ 'envs/local.env': 'DATABASE_URL=embedded\n' });
  const config = resolve({}, {}, root);
  assert.is(config.db, 'local');
  assert.equal(config.server, { kind: 'embedded', dataDir: join(root, '.dbvc', 'local'), display: 'embedded PostgreSQL (.dbvc/local)' });
});

test('commands that never connect need no URL', () => {
  const config = resolveConfig({ db: 'neon' }, {}, project(), false);
  assert.equal(config.server, { kind: 'none', display: '' });
  assert.is(config.urlSource, '');
});

// parseDatabaseUrl

test('percent-encoded user, password and database are decoded; the display masks the password', () => {
  const s = server('postgres://app%40corp:p%40ss%3Aw%2Frd%25x@db.example.com:6543/my%20db');
  assert.equal(
    { username: s.username, password: s.password, database: s.database, host: s.host, port: s.port, display: s.display },
    { username: 'app@corp', password: 'p@ss:w/rd%x', database: 'my db', host: 'db.example.com', port: 6543, display: 'postgres://app%40corp:***@db.example.com:6543/my%20db' },
  );
});

test('a raw @ in the password is taken as part of it and masked', () => {
  const s = server(`postgres://app:${SECRET}@x@db.example.com/app`);
  assert.is(s.password, `${SECRET}@x`);
  assert.is(s.host, 'db.example.com');
  assert.not.ok(s.display.includes(SECRET));
});

test('defaults: port 5432, user from PGUSER or postgres, database named like the user, IPv6 host unbracketed', () => {
  const a = server('postgres://db.example.com', { PGUSER: 'alice' });
  assert.equal([a.host, a.port, a.username, a.database, a.password], ['db.example.com', 5432, 'alice', 'alice', undefined]);
  const b = server('postgresql://[::1]/app');
  assert.equal([b.host, b.username, b.database], ['::1', 'postgres', 'app']);
});

test('host= pointing at a socket directory disables TLS', () => {
  const s = server('postgres://postgres@localhost/app?host=%2Fvar%2Frun%2Fpostgresql&port=5433&sslmode=require');
  assert.equal([s.host, s.port, s.sslmode, s.ssl], ['/var/run/postgresql', 5433, 'disable', false]);
});

test('connect_timeout is read in seconds', () => {
  assert.is(server('postgres://u@h/db?connect_timeout=5').connectTimeout, 5);
});

test('an unknown URL parameter is refused, naming the parameter', () => {
  assert.equal(shown(caught(() => server(`postgres://app:${SECRET}@h/db?sslmode=require&krbsrvname=pg`))), {
    code: 'config',
    message: 'the database URL from --url has a parameter dbvc does not support: krbsrvname',
    hint: 'supported: sslmode, sslrootcert, sslcert, sslkey, connect_timeout, host, port, dbname, user, application_name, options, target_session_attrs',
  });
});

test('no error about a URL shows its password', () => {
  const cases: Array<[string, { code: string; message: string; hint: string }]> = [
    [`postgres://app:${SECRET}@h/db?password=${SECRET}`, { code: 'config', message: 'the database URL from --url has a password parameter, which dbvc refuses: query parameters end up in logs', hint: 'put the password in the URL (postgres://user:PASSWORD@host/db), in PGPASSWORD or in ~/.pgpass' }],
    [`mysql://app:${SECRET}@h/db`, { code: 'config', message: 'the database URL from --url does not start with postgres:// or postgresql://', hint: 'or set it to "embedded" for a local embedded server' }],
    [`postgres://app:${SECRET}@h:port/db`, { code: 'config', message: 'the database URL from --url is not a valid URL', hint: 'expected postgres://user:password@host:port/database; percent-encode @ : / % # in the password' }],
    [`postgres://app:${SECRET}%zz@h/db`, { code: 'config', message: 'the database URL from --url has a malformed %-escape in its user, password, host or database', hint: 'percent-encode % as %25' }],
    [`postgres://app:${SECRET}@h/db?sslmode=bogus`, { code: 'config', message: 'sslmode=bogus (from --url) is not a libpq sslmode', hint: 'use one of disable, allow, prefer, require, verify-ca, verify-full' }],
    [`postgres://app:${SECRET}@h/db?sslmode=verify-full&sslrootcert=missing.crt`, { code: 'config', message: 'sslrootcert missing.crt cannot be read (ENOENT)', hint: 'download the CA certificate from your provider and point sslrootcert at it (relative to the project folder)' }],
    [`postgres://app:${SECRET}@h/db?connect_timeout=soon`, { code: 'usage', message: 'connect_timeout "soon" is not a duration', hint: 'write for example 30s, 500ms or 2m' }],
  ];
  for (const [url, expected] of cases) assert.equal(shown(caught(() => server(url))), expected, url);
});

test('a password with an unencoded / ? or # at its start never shows up in the display or an error', () => {
  const leaks: string[] = [];
  for (const password of [`/${SECRET}`, `?${SECRET}`, `#${SECRET}`, `2024/${SECRET}`]) {
    const url = `postgres://app:${password}@db.example.com/app`;
    try {
      const { display } = server(url);
      if (display.includes(SECRET)) leaks.push(`${url} is displayed as ${display}`);
    } catch (error) {
      assert.instance(error, DbvcError);
      const { message, hint } = error as DbvcError;
      if (`${message} ${hint}`.includes(SECRET)) leaks.push(`${url} fails with "${message}"`);
    }
  }
  assert.equal(leaks, []);
});

test('a non-numeric port is a config error naming the port, not NaN', () => {
  const error = caught(() => server(`postgres://app:${SECRET}@h/db?port=abc`));
  shown(error);
  assert.is(error.code, 'config');
  assert.match(error.message, /port/);
});

// sslmode

test('sslmode=disable -> no TLS; allow and prefer -> prefer; require -> require', () => {
  assert.equal([server('postgres://u@h/db?sslmode=disable').ssl, server('postgres://u@h/db?sslmode=disable').sslmode], [false, 'disable']);
  assert.is(server('postgres://u@h/db?sslmode=allow').ssl, 'prefer');
  assert.is(server('postgres://u@h/db?sslmode=prefer').ssl, 'prefer');
  assert.is(server('postgres://u@h/db?sslmode=require').ssl, 'require');
});

test('no sslmode anywhere is prefer, as in libpq', () => {
  const s = server('postgres://u@h/db');
  assert.equal([s.sslmode, s.ssl], ['prefer', 'prefer']);
});

test('PGSSLMODE is used when the URL has no sslmode, and the URL wins when it has one', () => {
  const s = server('postgres://u@h/db', { PGSSLMODE: 'require' });
  assert.equal([s.sslmode, s.ssl], ['require', 'require']);
  const t = server('postgres://u@h/db?sslmode=disable', { PGSSLMODE: 'require' });
  assert.equal([t.sslmode, t.ssl], ['disable', false]);
});

test('verify-full with sslrootcert reads the CA file (relative to the project) and checks the host name', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n';
  const root = project({ 'certs/ca.pem': ca });
  const s = server('postgres://u@pg-1.aivencloud.com:12345/defaultdb?sslmode=verify-full&sslrootcert=certs/ca.pem', {}, root);
  assert.equal(s.ssl, { rejectUnauthorized: true, ca, servername: 'pg-1.aivencloud.com' });
  assert.is(s.sslmode, 'verify-full');
});

test('verify-ca with sslrootcert checks the chain but not the host name', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n';
  const root = project({ 'ca.pem': ca });
  const s = server('postgres://u@h/db?sslmode=verify-ca&sslrootcert=ca.pem', {}, root);
  assert.ok(typeof s.ssl === 'object' && s.ssl !== null);
  const tls = s.ssl as { rejectUnauthorized?: boolean; ca?: string; checkServerIdentity?: () => unknown; servername?: string };
  assert.equal([tls.rejectUnauthorized, tls.ca, tls.servername], [true, ca, undefined]);
  assert.is(tls.checkServerIdentity?.(), undefined);
});

test('sslrootcert=system verifies against the system CAs and the host name', () => {
  const s = server('postgres://u@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslmode=verify-full&sslrootcert=system');
  assert.equal(s.ssl, { rejectUnauthorized: true, servername: 'ep-cool-1.eu-central-1.aws.neon.tech' });
});

test('sslrootcert=system without sslmode means verify-full, as in libpq 16+', () => {
  const s = server('postgres://u@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslrootcert=system');
  assert.equal([s.sslmode, s.ssl], ['verify-full', { rejectUnauthorized: true, servername: 'ep-cool-1.eu-central-1.aws.neon.tech' }]);
});

// durations

test('--ddl-lock-timeout / --ddl-lock-retries: off by default, from the env file, flags win, bad values named', () => {
  const plain = resolveConfig({}, {}, project(), false);
  assert.equal([plain.ddlLockTimeoutMs, plain.ddlLockRetries], [undefined, 0]);
  const root = project({ 'envs/aiven.env': 'DATABASE_URL=postgres://u@h/d\nDBVC_DDL_LOCK_TIMEOUT=5s\nDBVC_DDL_LOCK_RETRIES=3\n' });
  const fromFile = resolveConfig({ db: 'aiven' }, {}, root);
  assert.equal([fromFile.ddlLockTimeoutMs, fromFile.ddlLockRetries], [5_000, 3]);
  const flags = resolveConfig({ db: 'aiven', ddlLockTimeout: '250ms', ddlLockRetries: '0' }, {}, root);
  assert.equal([flags.ddlLockTimeoutMs, flags.ddlLockRetries], [250, 0]);
  const bad = project({ 'envs/aiven.env': 'DATABASE_URL=postgres://u@h/d\nDBVC_DDL_LOCK_RETRIES=many\n' });
  try {
    resolveConfig({ db: 'aiven' }, {}, bad);
    assert.unreachable('accepted DBVC_DDL_LOCK_RETRIES=many');
  } catch (error) {
    assert.is((error as DbvcError).message, 'DBVC_DDL_LOCK_RETRIES in envs/aiven.env "many" is not a number of retries');
  }
});

test('--lock-timeout: 30s by default; ms, s, m and bare seconds', () => {
  const lock = (lockTimeout?: string) => resolveConfig({ lockTimeout }, {}, project(), false).lockTimeoutMs;
  assert.is(lock(undefined), 30_000);
  assert.is(lock('500ms'), 500);
  assert.is(lock('45s'), 45_000);
  assert.is(lock('2m'), 120_000);
  assert.is(lock('10'), 10_000);
  assert.is(lock('1.5s'), 1_500);
  assert.is(lock('0'), 0);
});

test('--lock-timeout that is not a duration is a usage error', () => {
  for (const text of ['soon', '-5s', '5h', '5 s s', '']) {
    assert.equal(shown(caught(() => resolveConfig({ lockTimeout: text }, {}, project(), false))), {
      code: 'usage',
      message: `--lock-timeout "${text}" is not a duration`,
      hint: 'write for example 30s, 500ms or 2m',
    }, text);
  }
});

test('--schema must be 1 to 63 bytes', () => {
  const schema = (name: string) => resolveConfig({ schema: name }, {}, project(), false).schema;
  assert.is(schema('dbvc'), 'dbvc');
  assert.is(schema('s'.repeat(63)), 's'.repeat(63));
  assert.equal(shown(caught(() => schema('s'.repeat(64)))), { code: 'usage', message: '--schema must be a name of 1 to 63 bytes', hint: 'for example --schema public' });
  assert.is(caught(() => schema('')).code, 'usage');
});

test.run();
