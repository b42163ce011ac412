// Issue 16: a fleet run's live progress on a real terminal (a pseudo-terminal made by util-linux `script`): a line
// per database in flight redrawn in place, finished ones above, the cursor hidden meanwhile and shown again, also
// after Ctrl-C. Build first: make build.
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { reportSkipped } from '../helpers/common.js';
import { createFleet, type TestFleet } from '../helpers/fleet.js';
import { CLI, waitFor } from '../helpers/servers.js';

const test = suite<{ fleet: TestFleet }>('fleet tty');
const HIDE = '\x1b[?25l';
const SHOW = '\x1b[?25h';
const SLEEPY = 'CREATE TABLE m_0002 (id int PRIMARY KEY);\nSELECT pg_sleep(30);\n';
const hasScript = spawnSync('script', ['--version']).status === 0;

test.before(async (context) => {
  context.fleet = await createFleet({ alpha: 3 });
});
test.after(async ({ fleet }) => fleet?.drop());
test.before.each(async ({ fleet }) => {
  await fleet.reset();
  await writeFile(join(fleet.root, 'sql', 'alpha', '0002_m2.up.sql'), 'CREATE TABLE m_0002 (id int PRIMARY KEY);\nINSERT INTO m_0002 VALUES (2);\n');
});

/** The CLI on a pseudo-terminal: everything it showed there, ANSI sequences included; stdin types into it. */
function onTerminal(args: string[], cwd: string, extra: Record<string, string> = {}, rows = 40) {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', NO_COLOR: '1', ...extra };
  if (!extra.CI) delete env.CI;
  delete env.DATABASE_URL;
  // wide enough for the test server's socket paths in the labels: a line is cut to the terminal's width
  const command = `stty cols 200 rows ${rows} && exec ${[process.execPath, CLI, ...args, '--lock-timeout', '20s'].map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stdin.on('error', () => {}); // typing after it ended
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, output });
  }));
  return { type: (text: string) => child.stdin.write(text), output: () => output, done };
}

function assertCursorShown(output: string): void {
  assert.ok(output.includes(HIDE), 'the cursor was hidden while live');
  assert.ok(output.lastIndexOf(SHOW) > output.lastIndexOf(HIDE), 'and shown again at the end');
}

function sleepers(fleet: TestFleet): () => Promise<boolean> {
  return () => fleet.all[0].db`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(30)%' and state = 'active' and pid <> pg_backend_pid() and datname = any(${fleet.all.map((d) => d.name)})`.then(([r]) => r.n >= 2);
}

if (!hasScript) reportSkipped(3, 'util-linux script (a pseudo-terminal) is not installed');
else {
  test('on a terminal: the finished databases stay above, a live block under them, erased at the end; in CI, plain lines', async ({ fleet }) => {
    const live = await onTerminal(['upgrade', '--db', 'alpha', '--parallel', '2'], fleet.root).done;
    assert.is(live.code, 0, live.output);
    assertCursorShown(live.output);
    for (const d of fleet.all) assert.match(live.output, new RegExp(`\\r\\n(\\x1b\\[\\d+A\\r\\x1b\\[J)?alpha \\S+/${d.name}  done: 3 migrations applied \\(\\d+ s\\)\\r\\n`));
    assert.match(live.output, /\r\n3\/3 done, 0 running\r\n\x1b\[1A\r\x1b\[J/); // the last block, then erased
    assert.match(live.output, /^3 databases: 3 moved \(9 migrations\)\r$/m);
    // three in flight on a terminal of four rows: no room for their lines, so the total line alone, as a bar
    const bar = await onTerminal(['status', '--db', 'alpha', '--parallel', '3'], fleet.root, {}, 4).done;
    assert.is(bar.code, 0, bar.output);
    assert.match(bar.output, /\[\.{20}\] 0\/3 done, 3 running\r\n/);
    assert.not.match(bar.output, /alpha \S+  starting/);
    assertCursorShown(bar.output);
    await fleet.reset();
    const ci = await onTerminal(['upgrade', '--db', 'alpha'], fleet.root, { CI: 'true' }).done;
    assert.is(ci.code, 0, ci.output);
    assert.not.ok(ci.output.includes('\x1b['), 'no cursor moves in CI');
    for (const d of fleet.all) assert.match(ci.output, new RegExp(`^alpha \\S+/${d.name} up   0003_m3  0002 -> 0003 \\(\\d+ ms\\)\\r$`, 'm'));
  });

  test('Ctrl-C on a terminal: the live lines showed each migration in flight; each run rolled back; exit 130, cursor shown', async ({ fleet }) => {
    await writeFile(join(fleet.root, 'sql', 'alpha', '0002_m2.up.sql'), SLEEPY);
    const run = onTerminal(['upgrade', '--db', 'alpha', '--parallel', '2'], fleet.root);
    assert.ok(await waitFor(sleepers(fleet), 20_000), run.output());
    assert.ok(await waitFor(() => /2 running\r\n/.test(run.output()), 5_000), run.output());
    run.type('\x03');
    const { code, output } = await run.done;
    assert.is(code, 130, output);
    assertCursorShown(output);
    for (const d of fleet.targets[0].databases.slice(0, 2)) {
      assert.match(output, new RegExp(`alpha \\S+/${d.name}  up   0002_m2  0001 -> 0002  \\d+ s\\r\\n`));
      assert.match(output, new RegExp(`alpha \\S+/${d.name}  interrupted: 1 migration applied \\(\\d+ s\\)\\r\\n`));
    }
    assert.match(output, /^3 databases: 2 interrupted, 1 not started\r$/m);
    for (const d of fleet.all) assert.is((await d.db`select to_regclass('public.m_0002') is null as gone`)[0].gone, true, d.name);
  });

  test('a second Ctrl-C quits at once, and the cursor is shown all the same', async ({ fleet }) => {
    await writeFile(join(fleet.root, 'sql', 'alpha', '0002_m2.up.sql'), SLEEPY);
    const run = onTerminal(['upgrade', '--db', 'alpha', '--parallel', '2'], fleet.root);
    assert.ok(await waitFor(sleepers(fleet), 20_000), run.output());
    run.type('\x03');
    assert.ok(await waitFor(() => run.output().includes('press Ctrl-C again'), 5_000), run.output());
    run.type('\x03');
    const { code, output } = await run.done;
    assert.is(code, 130, output);
    assertCursorShown(output);
  });
}

test.run();
