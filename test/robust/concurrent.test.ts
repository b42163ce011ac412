// Concurrent deploys: 8 `dbvc upgrade` processes at once against one database, again and again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAfterScenario, versionsIn } from '../helpers/consistency.js';
import { createDatabase, fixture } from '../helpers/db.js';
import { secret, SOAK, startCli, stopAll, withPassword } from '../helpers/servers.js';

const FIXTURE = fixture('robust-deploy');
const PROCESSES = 8;
const REPETITIONS = SOAK ? 100 : 20;
const SLACK_MS = 10_000; // node start-up and the run itself on a busy 2-core machine

const PASSWORD = secret('deploy'); // ignored by trust auth; the secrets scan looks for it

const test = suite('robust: concurrent deploys');
test.after(stopAll);

test(`${PROCESSES} upgrades at once, ${REPETITIONS} times: each migration applied exactly once, every process exits 0 or 4 in time`, async () => {
  const versions = await versionsIn(FIXTURE);
  const head = versions[versions.length - 1];
  const exits = { 0: 0, 4: 0 };
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    // every fourth repetition waits only 100 ms for the lock, so the losers must give up with exit 4
    const lockMs = repetition % 4 === 3 ? 100 : 20_000;
    const t = await createDatabase();
    try {
      const args = ['upgrade', '--url', withPassword(t.url, PASSWORD), '--dir', FIXTURE, '--lock-timeout', `${lockMs}ms`];
      const runs = Array.from({ length: PROCESSES }, () => startCli(args, { timeoutMs: lockMs + SLACK_MS }));
      const results = await Promise.all(runs.map((r) => r.done));
      const label = `repetition ${repetition + 1} (lock timeout ${lockMs} ms)`;
      for (const r of results) {
        const said = `${label}: exit ${r.code} ${r.signal ?? ''} after ${Math.round(r.ms)} ms\n${r.stdout}${r.stderr}`;
        assert.ok(r.signal === null, `killed after hanging past its lock timeout: ${said}`);
        assert.ok(r.code === 0 || (r.code === 4 && lockMs < 1000), said);
        if (r.code === 4) assert.match(r.stderr, /another dbvc run holds the migration lock for schema "public"; gave up after 0\.1 s/, said);
        exits[r.code as 0 | 4] += 1;
      }
      const appliers = results.filter((r) => r.stdout.includes(`is now at ${head} (head) (${versions.length} migrations applied)`));
      assert.is(appliers.length, 1, `${label}: one process applies everything:\n${results.map((r) => r.stdout).join('---\n')}`);
      const idle = results.filter((r) => r.code === 0 && r !== appliers[0]);
      for (const r of idle) assert.match(r.stdout, new RegExp(`nothing to do: local is already at ${head} \\(head\\)`), label);
      assert.equal(await checkAfterScenario(t.db, { versions, isUpOnly: true }), [], label);
      const [counts] = await t.db`select (select count(*) from m_0001)::int as a, (select count(*) from m_0002)::int as b, (select count(*) from m_0003)::int as c`;
      assert.equal({ ...counts }, { a: 1, b: 1, c: 1000 }, `${label}: data inserted once`);
    } finally {
      await t.drop();
    }
  }
  assert.ok(exits[4] > 0 || REPETITIONS < 4, 'some runs gave up on the lock with exit 4');
  console.log(`  concurrent: ${REPETITIONS} x ${PROCESSES} runs, exit 0: ${exits[0]}, exit 4: ${exits[4]}`);
});

test.run();
