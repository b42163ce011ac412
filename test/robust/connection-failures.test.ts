// Connection failures: each is one line of cause and one hint on stderr, exit 5, nothing on stdout, and quick.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture } from '../helpers/db.js';
import { freePort, secret, startCli, startFakeServer, startServer, stopAll, type CliResult, type TestServer } from '../helpers/servers.js';

const FIXTURE = fixture('robust-deploy');
const PASSWORD = secret('app');
const WRONG = secret('wrong');

const test = suite<{ server: TestServer }>('robust: connection failures');

test.before(async (context) => {
  // scram-sha-256 on TCP, so a wrong password is refused; trust on the socket for the test's own admin client
  context.server = await startServer({ hba: ['local all all trust', 'host all all 127.0.0.1/32 scram-sha-256'] });
  const admin = context.server.admin();
  await admin.unsafe(`create role app login password '${PASSWORD}'`);
  await admin.end();
});
test.after(stopAll);

const status = (url: string) => startCli(['status', '--url', url, '--dir', FIXTURE], { timeoutMs: 30_000 }).done;

/** Exactly the target line, "error <cause>" and "hint <what to do>" on stderr, nothing on stdout, exit 5, within maxMs. */
function assertExplained(result: CliResult, cause: string | RegExp, hint: RegExp, maxMs: number): void {
  const said = `exit ${result.code} after ${Math.round(result.ms)} ms\n${result.stdout}${result.stderr}`;
  assert.is(result.code, 5, said);
  assert.is(result.stdout, '', said);
  const lines = result.stderr.split('\n');
  assert.is(lines.length, 4, `the target, one cause and one hint: ${said}`);
  assert.match(lines[0], /^target local: postgres:\/\/\S+ \(URL from --url\), schema public$/, said);
  if (typeof cause === 'string') assert.is(lines[1], `error ${cause}`, said);
  else assert.match(lines[1], cause, said);
  assert.match(lines[2], hint, said);
  assert.ok(result.ms < maxMs, `took ${Math.round(result.ms)} ms (limit ${maxMs}): ${said}`);
}

test('the right password works (scram-sha-256 over TCP)', async ({ server }) => {
  const result = await status(server.url('postgres', { user: 'app', password: PASSWORD }));
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /^current: base$/m);
});

test('a wrong password', async ({ server }) => {
  const result = await status(server.url('postgres', { user: 'app', password: WRONG }));
  assertExplained(result, `the server at 127.0.0.1:${server.port} rejected user "app": password authentication failed for user "app"`, /^hint check the user and password in the database URL$/, 5000);
});

test('an unknown database', async ({ server }) => {
  const result = await status(server.url('no_such_db', { user: 'app', password: PASSWORD }));
  assertExplained(result, `database "no_such_db" does not exist on 127.0.0.1:${server.port}`, /^hint check the database name in the URL, or create it$/, 5000);
});

test('a refused port', async () => {
  const port = await freePort();
  const result = await status(`postgres://app:${PASSWORD}@127.0.0.1:${port}/db`);
  assertExplained(result, `nothing is listening on 127.0.0.1:${port} (connection refused)`, /^hint check the host and port, and that the server is running$/, 5000);
});

test('an unresolvable host', async () => {
  const result = await status(`postgres://app:${PASSWORD}@nonexistent.invalid:5432/db`);
  assertExplained(result, 'the host name nonexistent.invalid cannot be resolved', /^hint check the host in the database URL$/, 8000);
});

test('a host that never answers: bounded by connect_timeout, with the TLS request (default sslmode) and without', async () => {
  const silent = await startFakeServer();
  for (const params of ['connect_timeout=2', 'connect_timeout=2&sslmode=disable']) {
    const result = await status(`postgres://app:${PASSWORD}@127.0.0.1:${silent.port}/db?${params}`);
    assertExplained(result, `no answer from 127.0.0.1:${silent.port} within 2 s`, /^hint check the host, port and firewall; set connect_timeout in the URL \(seconds\) to wait longer$/, 6000);
    assert.ok(result.ms >= 1900, `waited the whole timeout: ${result.ms} ms`);
  }
  assert.is(silent.connections(), 2);
});

test('sslmode=require against a server without TLS says TLS was refused', async ({ server }) => {
  const result = await status(server.url('postgres', { user: 'app', password: PASSWORD, params: 'sslmode=require' }));
  assertExplained(result, `the server at 127.0.0.1:${server.port} refused TLS, which sslmode=require requires`, /^hint enable TLS \(ssl = on\) on the server, or use sslmode=prefer or disable/, 5000);
});

test('the default sslmode (prefer) falls back to plain text on a server without TLS', async ({ server }) => {
  const result = await status(server.url('postgres', { user: 'app', password: PASSWORD }));
  assert.is(result.code, 0, result.stderr);
});

test('something that is not PostgreSQL (an HTTP server) is named as such, with and without the TLS request', async () => {
  const { port } = await startFakeServer('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  for (const params of ['', '?sslmode=disable']) {
    const result = await status(`postgres://app:${PASSWORD}@127.0.0.1:${port}/db${params}`);
    assertExplained(result, `127.0.0.1:${port} did not answer as a PostgreSQL server does`, /^hint check the host and port in the database URL$/, 5000);
  }
});

test.run();
