// A SIGKILL of dbvc while the server runs its migration: the server notices the dead client and rolls the migration
// back, instead of finishing and committing it later with nobody there to report it (issue 12, item 4).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDatabase } from '../helpers/db.js';
import { makeTempDir, startCli, stopAll, waitFor } from '../helpers/servers.js';

const test = suite('robust: killed mid-migration');
test.after(stopAll);

test('a migration in flight when dbvc is killed is rolled back by the server (PostgreSQL 14+)', async () => {
  const t = await createDatabase();
  try {
    const [{ version }] = await t.db`select current_setting('server_version_num')::int as version`;
    if (version < 140000) return void console.log('  (server older than 14: it has no client_connection_check_interval; skipped)');
    const dir = await makeTempDir('killed-midway');
    await writeFile(join(dir, '0001_slow.up.sql'), 'SELECT pg_sleep(4);\nCREATE TABLE k (id int);\n');
    await writeFile(join(dir, '0001_slow.down.sql'), 'DROP TABLE k;\n');
    const run = startCli(['upgrade', '--url', t.url, '--dir', dir]);
    const isSleeping = async () => (await t.db`select 1 from pg_stat_activity where datname = ${t.name} and pid <> pg_backend_pid() and query like '%pg_sleep(4)%' and state = 'active'`).length > 0;
    assert.ok(await waitFor(isSleeping, 20_000, 20), 'the migration never started');
    run.child.kill('SIGKILL');
    await run.done;
    const isGone = async () => (await t.db`select 1 from pg_stat_activity where datname = ${t.name} and application_name = 'dbvc upgrade'`).length === 0;
    assert.ok(await waitFor(isGone, 3_000, 50), 'the server still runs the dead client\'s session 3 s after the kill');
    await new Promise((resolve) => setTimeout(resolve, 4_500)); // past the moment the sleep would have ended
    const [{ table, versions }] = await t.db`
      select to_regclass('k') is not null as table, (select count(*)::int from public.alembic_version) as versions`;
    assert.equal({ table, versions }, { table: false, versions: 0 });
  } finally {
    await t.drop();
  }
});

test.run();
