// TLS: a server with ssl=on and a CA and server certificate made here with openssl. pg_hba.conf accepts only TLS
// connections, so every success below really was encrypted.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAfterScenario, versionsIn } from '../helpers/consistency.js';
import { fixture } from '../helpers/db.js';
import { makeCertificates, makeTempDir, secret, startCli, startServer, stopAll, type CliResult, type TestServer } from '../helpers/servers.js';

const FIXTURE = fixture('robust-deploy');
const PASSWORD = secret('tls'); // trust auth over TLS ignores it

interface Context {
  server: TestServer;
  certs: Awaited<ReturnType<typeof makeCertificates>>;
}

const test = suite<Context>('robust: TLS');

test.before(async (context) => {
  context.certs = await makeCertificates();
  context.server = await startServer({
    tls: context.certs,
    hba: ['local all all trust', 'hostssl all all 127.0.0.1/32 trust', 'hostnossl all all 127.0.0.1/32 reject'],
  });
});
test.after(stopAll);

function url({ server }: Context, params: string, host = '127.0.0.1'): string {
  return server.url('postgres', { password: PASSWORD, params }).replace('@127.0.0.1:', `@${host}:`);
}

const status = (target: string, cwd?: string) => startCli(['status', '--url', target, '--dir', FIXTURE], { cwd, timeoutMs: 20_000 }).done;

function assertWorks(result: CliResult, label: string): void {
  assert.is(result.code, 0, `${label}: ${result.stderr}`);
  assert.match(result.stdout, /^current: /m, label);
  assert.not.match(result.stderr, /Warning|DEP0123/, `${label}: no Node warnings: ${result.stderr}`);
}

function assertRefusedCertificate(result: CliResult, port: number, reason: string, label: string): void {
  const said = `${label}: exit ${result.code}\n${result.stderr}`;
  assert.is(result.code, 5, said);
  assert.is(result.stdout, '', said);
  const [target, error, hint, end] = result.stderr.split('\n');
  assert.match(target, /^target local: postgres:\/\/\S+ \(URL from --url\), schema public$/, said);
  assert.ok(error.startsWith(`error the TLS certificate of 127.0.0.1:${port} ${reason} (`), said);
  assert.match(hint, /^hint point sslrootcert at the CA certificate your provider publishes/, said);
  assert.is(end, '', `the target, one cause and one hint: ${said}`);
}

test('verify-full with the right CA works, by IP address and by host name', async (context) => {
  assertWorks(await status(url(context, `sslmode=verify-full&sslrootcert=${context.certs.ca}`)), '127.0.0.1');
  assertWorks(await status(url(context, `sslmode=verify-full&sslrootcert=${context.certs.ca}`, 'localhost')), 'localhost');
});

test('verify-full with a wrong CA fails with a clear error (exit 5)', async (context) => {
  const result = await status(url(context, `sslmode=verify-full&sslrootcert=${context.certs.wrongCa}`));
  assertRefusedCertificate(result, context.server.port, 'is not signed by a CA that sslrootcert trusts', 'wrong CA');
});

test('verify-ca with the right CA works; with the wrong one it fails', async (context) => {
  assertWorks(await status(url(context, `sslmode=verify-ca&sslrootcert=${context.certs.ca}`)), 'verify-ca');
  const wrong = await status(url(context, `sslmode=verify-ca&sslrootcert=${context.certs.wrongCa}`));
  assertRefusedCertificate(wrong, context.server.port, 'is not signed by a CA that sslrootcert trusts', 'verify-ca, wrong CA');
});

test('require works without a CA; with sslrootcert it verifies the chain as libpq does', async (context) => {
  assertWorks(await status(url(context, 'sslmode=require')), 'require');
  assertWorks(await status(url(context, `sslmode=require&sslrootcert=${context.certs.ca}`)), 'require with the CA');
  const wrong = await status(url(context, `sslmode=require&sslrootcert=${context.certs.wrongCa}`));
  assertRefusedCertificate(wrong, context.server.port, 'is not signed by a CA that sslrootcert trusts', 'require, wrong CA');
});

test('the default (prefer) uses TLS when offered; disable is turned away by this server', async (context) => {
  assertWorks(await status(url(context, '')), 'prefer');
  const plain = await status(url(context, 'sslmode=disable'));
  assert.is(plain.code, 5, plain.stderr);
  assert.match(plain.stderr, /^error the server at 127\.0\.0\.1:\d+ rejected user "postgres": pg_hba\.conf rejects connection .*no encryption/m);
});

test('a relative sslrootcert is found from the project folder; a missing one is a configuration error (exit 2)', async (context) => {
  const project = await makeTempDir('tls-project');
  await mkdir(join(project, 'envs'));
  await copyFile(context.certs.ca, join(project, 'envs', 'ca.pem'));
  assertWorks(await status(url(context, 'sslmode=verify-full&sslrootcert=envs/ca.pem'), project), 'relative sslrootcert');
  const missing = await status(url(context, 'sslmode=verify-full&sslrootcert=envs/missing.pem'), project);
  assert.is(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^error sslrootcert envs\/missing\.pem cannot be read \(ENOENT\)$/m);
});

test('a whole upgrade over verify-full leaves a consistent database', async (context) => {
  const admin = context.server.admin();
  try {
    await admin.unsafe('create database tls_upgrade');
    const target = context.server.url('tls_upgrade', { password: PASSWORD, params: `sslmode=verify-full&sslrootcert=${context.certs.ca}` });
    const result = await startCli(['upgrade', '--url', target, '--dir', FIXTURE]).done;
    assert.is(result.code, 0, result.stderr);
    const db = context.server.admin('tls_upgrade');
    try {
      assert.equal(await checkAfterScenario(db, { versions: await versionsIn(FIXTURE), isUpOnly: true }), []);
    } finally {
      await db.end();
    }
  } finally {
    await admin.end();
  }
});

test.run();
