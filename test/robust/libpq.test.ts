// libpq habits (issue 13, item 6): PG* environment variables fill what the URL leaves out, the password may come from
// PGPASSFILE / ~/.pgpass, a client certificate (sslcert / sslkey) authenticates, and a multi-host URL with
// target_session_attrs picks the server libpq would. Two servers made here: one with TLS, client certificates and
// scram-sha-256, one whose sessions are read-only.
import { execFile } from 'node:child_process';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findCommand, reportSkipped } from '../helpers/common.js';
import { fixture } from '../helpers/db.js';
import { makeCertificates, makeTempDir, secret, startCli, startServer, stopAll, type TestServer } from '../helpers/servers.js';

const FIXTURE = fixture('robust-deploy');
const PASSWORD = secret('pgpass');

interface Context {
  server: TestServer;
  readOnly: TestServer;
  dir: string;
  client: { cert: string; key: string };
}

const test = suite<Context>('robust: libpq habits');

test.before(async (context) => {
  const certs = await makeCertificates();
  context.dir = await makeTempDir('libpq');
  context.client = await makeClientCertificate(certs.ca, context.dir, 'certuser');
  await copyFile(certs.ca, join(context.dir, 'ca.crt'));
  context.server = await startServer({
    tls: certs,
    settings: { ssl_ca_file: certs.ca },
    hba: ['local all all trust', 'hostssl all certuser 127.0.0.1/32 cert', 'host all app 127.0.0.1/32 scram-sha-256', 'host all postgres 127.0.0.1/32 trust'],
  });
  const admin = context.server.admin();
  await admin.unsafe(`create role app login password '${PASSWORD}'; create role certuser login; grant create on schema public to app, certuser`);
  await admin.end();
  context.readOnly = await startServer({ settings: { default_transaction_read_only: 'on' } });
});
test.after(stopAll);

async function makeClientCertificate(ca: string, dir: string, user: string): Promise<{ cert: string; key: string }> {
  const ssl = (...args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
  await ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', `/CN=${user}`);
  await ssl('x509', '-req', '-in', 'client.csr', '-CA', ca, '-CAkey', ca.replace(/\.crt$/, '.key'), '-CAcreateserial', '-out', 'client.crt', '-days', '2');
  return { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
}

const cli = (args: string[], env: Record<string, string> = {}) => startCli([...args, '--dir', FIXTURE], { env, timeoutMs: 30_000 }).done;

test('PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD and PGSSLMODE fill a URL that leaves them out, and are named', async ({ server }) => {
  const env = { PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: 'app', PGDATABASE: 'postgres', PGPASSWORD: PASSWORD, PGSSLMODE: 'disable' };
  const result = await cli(['status', '--url', 'postgres://'], env);
  assert.is(result.code, 0, result.stderr);
  assert.ok(result.stderr.includes(`target local: postgres:// with PGUSER=app, PGDATABASE=postgres, PGHOST=127.0.0.1, PGPORT=${server.port}, PGSSLMODE=disable (URL from --url)`), result.stderr);
  const wrong = await cli(['status', '--url', 'postgres://'], { ...env, PGPASSWORD: secret('wrong') });
  assert.is(wrong.code, 5, wrong.stderr);
});

test('the password comes from PGPASSFILE when the URL and PGPASSWORD have none; a file others can read is refused', async ({ server, dir }) => {
  const file = join(dir, 'pgpass');
  await writeFile(file, `# host:port:database:user:password\nelsewhere:*:*:app:nope\n127.0.0.1:${server.port}:*:app:${PASSWORD.replace(/[:\\]/g, '\\$&')}\n`);
  await chmod(file, 0o600);
  const url = `postgres://app@127.0.0.1:${server.port}/postgres?sslmode=disable`;
  const found = await cli(['status', '--url', url], { PGPASSFILE: file });
  assert.is(found.code, 0, found.stderr);
  await chmod(file, 0o644);
  const exposed = await cli(['status', '--url', url], { PGPASSFILE: file });
  assert.is(exposed.code, 2, exposed.stderr);
  assert.ok(exposed.stderr.includes(`error ${file} can be read by other users, so libpq (and dbvc) will not use it\nhint run chmod 600 ${file}\n`), exposed.stderr);
  const none = await cli(['status', '--url', url], { PGPASSFILE: join(dir, 'absent') });
  assert.is(none.code, 5, none.stderr);
});

test('sslcert and sslkey authenticate with a client certificate (pg_hba cert); without them the server refuses', async ({ server, client }) => {
  const base = `postgres://certuser@127.0.0.1:${server.port}/postgres?sslmode=require`;
  const withCert = await cli(['upgrade', '0001', '--url', `${base}&sslcert=${encodeURIComponent(client.cert)}&sslkey=${encodeURIComponent(client.key)}`]);
  assert.is(withCert.code, 0, withCert.stderr);
  const without = await cli(['status', '--url', base]);
  assert.is(without.code, 5, without.stderr);
  const half = await cli(['status', '--url', `${base}&sslcert=${encodeURIComponent(client.cert)}`]);
  assert.is(half.code, 2, half.stderr);
  assert.match(half.stderr, /^error sslcert is set without sslkey$/m);
});

test('dbvc psql hands psql the whole connection: a root CA and a client certificate relative to the project folder', async ({ server, dir }) => {
  if (!findCommand('psql')) return reportSkipped(1, 'the dbvc psql test in test/robust/libpq.test.ts: psql is not installed');
  const url = `postgres://certuser@localhost:${server.port}/postgres?sslmode=verify-full&sslrootcert=ca.crt&sslcert=client.crt&sslkey=client.key`;
  const result = await startCli(['psql', '--url', url, '--', '-At', '-c', 'select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()'], { cwd: dir, timeoutMs: 30_000 }).done;
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, 'certuser|t\n');
});

test('several hosts: the first that answers is used; target_session_attrs=read-write passes over a read-only server', async ({ server, readOnly }) => {
  const admin = server.admin();
  try {
    const hosts = `127.0.0.1:${readOnly.port},127.0.0.1:${server.port}`;
    const readWrite = await cli(['upgrade', '--url', `postgres://postgres@${hosts}/postgres?sslmode=disable&target_session_attrs=read-write`]);
    assert.is(readWrite.code, 0, readWrite.stderr);
    assert.ok(readWrite.stderr.includes(`target local: postgres://postgres@${hosts}/postgres?sslmode=disable&target_session_attrs=read-write (URL from --url)`), readWrite.stderr);
    const [{ version }] = await admin`select version_num as version from alembic_version`;
    assert.match(version, /^\d+$/);

    const firstDown = await cli(['status', '--url', `postgres://postgres@127.0.0.1:1,127.0.0.1:${server.port}/postgres?sslmode=disable`]);
    assert.is(firstDown.code, 0, firstDown.stderr);
    const onlyReadOnly = await cli(['status', '--url', `postgres://postgres@127.0.0.1:${readOnly.port}/postgres?sslmode=disable&target_session_attrs=read-write`]);
    assert.is(onlyReadOnly.code, 5, onlyReadOnly.stderr);
    assert.match(onlyReadOnly.stderr, /^error 127\.0\.0\.1:\d+ only accepts read-only transactions, and the URL asks for target_session_attrs=read-write$/m);
  } finally {
    await admin.unsafe('drop table if exists alembic_version, dbvc_history cascade');
    await admin.end();
  }
});

test.run();
