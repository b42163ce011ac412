// Killed runner: SIGKILL the CLI at random moments of a 200-migration run; the database must stay consistent and
// keep no lock, and the next run must carry on (and finish the job: in soak mode after every kill).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAfterScenario, checkConsistency } from '../helpers/consistency.js';
import { createDatabase, type TestDatabase } from '../helpers/db.js';
import { makeTempDir, secret, SOAK, startCli, stopAll, waitFor, withPassword } from '../helpers/servers.js';

const MIGRATIONS = 200;
const TRIALS = SOAK ? 100 : 20;
// kills in a row on one database: each run carries on from the previous kill; the run after the last must finish
const KILLS_PER_DATABASE = SOAK ? 1 : 4;

const PASSWORD = secret('killed'); // ignored by trust auth; the secrets scan looks for it

const test = suite('robust: killed runner');
test.after(stopAll);

/** 200 migrations m_0001..m_0200; every 25th sleeps 20 ms so some kills land while the server is busy. */
async function writeMigrations(): Promise<{ dir: string; versions: string[] }> {
  const dir = await makeTempDir('killed');
  const versions: string[] = [];
  for (let i = 1; i <= MIGRATIONS; i++) {
    const v = String(i).padStart(4, '0');
    versions.push(v);
    const sleep = i % 25 === 0 ? 'SELECT pg_sleep(0.02);\n' : '';
    await writeFile(join(dir, `${v}_step.up.sql`), `CREATE TABLE m_${v} (id int PRIMARY KEY, note text);\n${sleep}INSERT INTO m_${v} VALUES (1, 'applied');\n`);
    await writeFile(join(dir, `${v}_step.down.sql`), `DROP TABLE m_${v};\n`);
  }
  return { dir, versions };
}

function stepsPrinted(stdout: string): number {
  return stdout.split('\n').filter((line) => line.startsWith('up ')).length;
}

test(`SIGKILL during a ${MIGRATIONS}-migration run, ${TRIALS} trials: consistent, no lock left, the next run carries on`, async () => {
  const { dir, versions } = await writeMigrations();
  const head = versions[versions.length - 1];
  const killedAt: number[] = [];
  let t: TestDatabase | undefined;
  let kills = 0; // on this database; after KILLS_PER_DATABASE a run must finish the job, then a fresh database
  try {
    for (let trial = 0, attempts = 0; trial < TRIALS; attempts++) {
      assert.ok(attempts < TRIALS * 2, 'runs kept finishing before their kill');
      if (!t) {
        t = await createDatabase();
        await t.db.unsafe(`alter database ${t.name} set synchronous_commit = off`); // speed only: the server never crashes here
      }
      const before = await appliedCount(t, versions);
      // a kill after 0..remaining-3 printed steps (the next one is in flight), or at a random time during start-up
      const afterSteps = trial % 5 === 0 ? 0 : Math.floor(Math.random() * Math.max(1, MIGRATIONS - before - 2));
      const run = startCli(['upgrade', '--url', withPassword(t.url, PASSWORD), '--dir', dir]);
      if (afterSteps === 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      else await waitFor(() => stepsPrinted(run.output().stdout) >= afterSteps || run.child.exitCode !== null, 30_000, 1);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      run.child.kill('SIGKILL');
      const killed = await run.done;
      const printed = stepsPrinted(killed.stdout);
      const label = `trial ${trial + 1}: from ${before} applied, killed after ${printed} printed steps`;
      assert.equal(await checkAfterScenario(t.db, { versions, isUpOnly: true }), [], label);
      if (killed.signal !== 'SIGKILL') {
        assert.is(killed.code, 0, `${label}: the run ended on its own before the kill, and not well: ${killed.stderr}`);
        await t.drop(); // it finished: no kill to count, start afresh
        t = undefined;
        kills = 0;
        continue;
      }
      trial += 1;
      const applied = await appliedCount(t, versions);
      assert.ok(applied >= before + printed, `${label}: every printed step is committed (now ${applied})`);
      killedAt.push(applied);
      kills += 1;
      if (kills < KILLS_PER_DATABASE && trial < TRIALS && applied < MIGRATIONS) continue; // the next trial's run carries on from here

      const next = await startCli(['upgrade', '--url', withPassword(t.url, PASSWORD), '--dir', dir]).done;
      assert.is(next.code, 0, `${label}: the next run: ${next.stderr}`);
      const finished = applied === MIGRATIONS ? `nothing to do: local is already at ${head} (head)` : `local is now at ${head} (head) (${MIGRATIONS - applied} migration`;
      assert.ok(next.stdout.includes(finished), `${label}: ${next.stdout.slice(-300)}`);
      assert.equal(await checkConsistency(t.db, { versions, isUpOnly: true }), [], `${label}, after the next run`);
      const [{ rows }] = await t.db.unsafe(`select (${versions.map((v) => `(select count(*) from m_${v})`).join(' + ')})::int as rows`);
      assert.is(rows, MIGRATIONS, `${label}: every migration's insert ran exactly once`);
      await t.drop();
      t = undefined;
      kills = 0;
    }
  } finally {
    await t?.drop();
  }
  console.log(`  killed runner: ${TRIALS} kills; migrations applied when killed: ${killedAt.join(', ')}`);
});

async function appliedCount(t: TestDatabase, versions: string[]): Promise<number> {
  const [row] = await t.db`select version_num from alembic_version`.catch(() => []);
  return row ? versions.indexOf(row.version_num) + 1 : 0;
}

test.run();
