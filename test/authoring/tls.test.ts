// --scratch-url over TLS with a CA of its own (sslrootcert): migra's node-postgres driver must get the CA file too,
// not only dbvc's own connection. The server accepts only TLS connections (pg_hba hostssl), with a test CA.
import { rm } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { parseDatabaseUrl } from '../../src/config.js';
import { addressUrl } from '../../src/review/scratch.js';
import { capture, configFor, copyFixture, ROOT } from '../helpers/db.js';
import { makeCertificates, startServer, stopAll, type TestServer } from '../helpers/servers.js';

const test = suite<{ server: TestServer; certs: Awaited<ReturnType<typeof makeCertificates>>; dirs: string[] }>('authoring over TLS');

test.before(async (context) => {
  context.dirs = [];
  context.certs = await makeCertificates();
  context.server = await startServer({
    tls: context.certs,
    hba: ['local all all trust', 'hostssl all all 127.0.0.1/32 trust', 'hostnossl all all 127.0.0.1/32 reject'],
  });
});
test.after(async (context) => {
  await stopAll();
  await Promise.all(context.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

test('the URL migra gets carries the CA file and the client certificate by path, in libpq\'s sslmode meanings', async ({ certs }) => {
  const address = (params: string) => parseDatabaseUrl(`postgres://me:pw@db.example.com:5433/app?${params}`, 'test', {}, ROOT);
  const query = (params: string, tls = true) => Object.fromEntries(new URL(addressUrl(address(params), 'dbvc_scratch_x', tls)).searchParams);
  assert.equal(query(`sslmode=verify-full&sslrootcert=${certs.ca}`), { uselibpqcompat: 'true', sslmode: 'verify-full', sslrootcert: certs.ca });
  assert.equal(query(`sslmode=verify-ca&sslrootcert=${certs.ca}`), { uselibpqcompat: 'true', sslmode: 'verify-ca', sslrootcert: certs.ca });
  assert.equal(query(`sslmode=require&sslrootcert=${certs.ca}`), { uselibpqcompat: 'true', sslmode: 'require', sslrootcert: certs.ca });
  assert.equal(query('sslmode=require'), { uselibpqcompat: 'true', sslmode: 'require' });
  assert.equal(query('sslmode=verify-full&sslrootcert=system'), { uselibpqcompat: 'true', sslmode: 'verify-full' });
  assert.equal(query(`sslmode=require&sslcert=${certs.cert}&sslkey=${certs.key}`), { uselibpqcompat: 'true', sslmode: 'require', sslcert: certs.cert, sslkey: certs.key });
  assert.equal(query(`sslmode=prefer&sslrootcert=${certs.ca}`, false), { sslmode: 'disable' });
  assert.is(new URL(addressUrl(address('sslmode=require'), 'dbvc_scratch_x', true)).pathname, '/dbvc_scratch_x');
});

for (const mode of ['verify-full', 'require']) {
  test(`dump and check with --scratch-url over TLS, sslmode=${mode} and the test CA as sslrootcert: migra's driver verifies against it`, async (context) => {
    const dir = await copyFixture('shop');
    context.dirs.push(dir);
    const scratchUrl = context.server.url('postgres', { params: `sslmode=${mode}&sslrootcert=${encodeURIComponent(context.certs.ca)}` });
    const options = { scratchUrl, report: capture() };
    const config = configFor('postgres://unused@localhost/unused', dir);
    const { text } = await api.dump(config, options);
    assert.match(text, /create table "public"."product"/);
    assert.is((await api.check(config, options)).exitCode, 0);
  });
}

test.run();
