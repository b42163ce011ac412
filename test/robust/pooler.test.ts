// Poolers: PgBouncer in transaction (and statement) mode in front of the test server is refused before anything
// runs, naming the direct connection as the fix; in session mode dbvc works. Neon's -pooler host is refused by name.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAfterScenario, versionsIn } from '../helpers/consistency.js';
import { createDatabase, fixture, serverUrl, type TestDatabase } from '../helpers/db.js';
import { reportSkipped } from '../helpers/common.js';
import { findPgbouncer, secret, startCli, startPgbouncer, stopAll } from '../helpers/servers.js';

const FIXTURE = fixture('robust-deploy');
const PASSWORD = secret('pool'); // PgBouncer here trusts everyone; dbvc must still never print it

const test = suite<{ t: TestDatabase; port: number }>('robust: poolers');

const hasPgbouncer = findPgbouncer() !== null;
if (!hasPgbouncer) reportSkipped(4, 'the PgBouncer tests in test/robust/pooler.test.ts: pgbouncer is not installed (apt-get install pgbouncer)');
const server = new URL(serverUrl());
// PgBouncer reaches the test server as dbvc would: a host and port, or a Unix socket folder (the embedded server)
const target = { host: server.searchParams.get('host') ?? server.hostname, port: Number(server.searchParams.get('port') ?? (server.port || 5432)) };

test.before(async (context) => {
  context.t = await createDatabase();
  if (!hasPgbouncer) return;
  const pool = await startPgbouncer(target, [
    { name: 'by_transaction', dbname: context.t.name, poolMode: 'transaction' },
    { name: 'by_statement', dbname: context.t.name, poolMode: 'statement' },
    { name: 'by_session', dbname: context.t.name, poolMode: 'session' },
  ]);
  context.port = pool!.port;
});
test.after(async (context) => {
  await context.t?.drop();
  await stopAll();
});

const poolUrl = (port: number, database: string) => `postgres://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${database}?sslmode=disable`;
/** The PgBouncer tests are registered only when pgbouncer is installed (reportSkipped says so otherwise). */
const withPgbouncer = (name: string, run: Parameters<typeof test>[1]) => {
  if (hasPgbouncer) test(name, run);
};

async function assertRefused(t: TestDatabase, port: number, database: string, label: string): Promise<void> {
  const result = await startCli(['upgrade', '--url', poolUrl(port, database), '--dir', FIXTURE], { timeoutMs: 20_000 }).done;
  const said = `${label}: exit ${result.code}\n${result.stdout}${result.stderr}`;
  assert.is(result.code, 2, said);
  assert.is(result.stdout, '', said);
  assert.ok(result.stderr.includes(`error postgres://postgres:***@127.0.0.1:${port}/${database}?sslmode=disable goes through a connection pooler in transaction mode (PgBouncer or similar)`), said);
  assert.match(result.stderr, /^hint use the direct connection string of the database server, not the pool's .*nothing was run$/m, said);
  const [{ exists }] = await t.db`select to_regclass('alembic_version') is not null or to_regclass('m_0001') is not null as exists`;
  assert.is(exists, false, `${label}: nothing was created`);
  assert.equal(await checkAfterScenario(t.db, { versions: await versionsIn(FIXTURE) }), [], label);
}

withPgbouncer('PgBouncer in transaction mode: refused before anything runs, naming the direct connection (exit 2)', async ({ t, port }) => {
  await assertRefused(t, port, 'by_transaction', 'transaction pool');
});

withPgbouncer('PgBouncer in transaction mode with a busy pool (several idle server connections): still refused', async ({ t, port }) => {
  const { default: postgres } = await import('postgres');
  const clients = Array.from({ length: 3 }, () => postgres({ host: '127.0.0.1', port, database: 'by_transaction', username: 'postgres', ssl: false, max: 1, prepare: false }));
  try {
    // three transactions at once make PgBouncer open three server connections, idle in its pool afterwards
    await Promise.all(clients.map((c) => c.begin((tx) => tx`select pg_sleep(0.2)`)));
    await assertRefused(t, port, 'by_transaction', 'busy transaction pool');
  } finally {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
  }
});

withPgbouncer('PgBouncer in statement mode: refused as well', async ({ t, port }) => {
  await assertRefused(t, port, 'by_statement', 'statement pool');
});

withPgbouncer('PgBouncer in session mode: dbvc runs, and the database is consistent', async ({ t, port }) => {
  const versions = await versionsIn(FIXTURE);
  const result = await startCli(['upgrade', '--url', poolUrl(port, 'by_session'), '--dir', FIXTURE], { timeoutMs: 30_000 }).done;
  assert.is(result.code, 0, result.stderr);
  assert.ok(result.stdout.includes(`local is now at ${versions[versions.length - 1]} (head) (${versions.length} migrations applied)`), result.stdout);
  assert.equal(await checkAfterScenario(t.db, { versions, isUpOnly: true }), []);
  const status = await startCli(['status', '--json', '--url', poolUrl(port, 'by_session'), '--dir', FIXTURE]).done;
  assert.is(status.code, 0, status.stderr);
  assert.is(JSON.parse(status.stdout).pending.length, 0);
});

test('a Neon -pooler host is refused from its name alone, before any connection (exit 2)', async () => {
  const host = 'ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech';
  const result = await startCli(['upgrade', '--url', `postgres://alex:${encodeURIComponent(PASSWORD)}@${host}/neondb?sslmode=require`, '--dir', FIXTURE], { timeoutMs: 10_000 }).done;
  assert.is(result.code, 2, result.stderr);
  assert.is(result.stdout, '');
  assert.is(result.stderr, [
    `target local: postgres://alex:***@${host}/neondb?sslmode=require (URL from --url), schema public`,
    `error postgres://alex:***@${host}/neondb?sslmode=require is Neon's pooled endpoint (${host}), which pools transactions: dbvc's migration lock needs one session for the whole run`,
    'hint use the direct endpoint ep-cool-darkness-123456.us-east-2.aws.neon.tech (the same host name without -pooler); nothing was run',
    '',
  ].join('\n'));
  assert.ok(result.ms < 5000, `no connection attempt: ${result.ms} ms`);
});

test('a host that merely has "pooler" in its name is not taken for Neon\'s', async () => {
  const result = await startCli(['status', '--url', `postgres://alex:${encodeURIComponent(PASSWORD)}@my-pooler.nonexistent.invalid/db`, '--dir', FIXTURE], { timeoutMs: 20_000 }).done;
  assert.is(result.code, 5, result.stderr);
  assert.match(result.stderr, /^error the host name my-pooler\.nonexistent\.invalid cannot be resolved$/m);
});

test.run();
