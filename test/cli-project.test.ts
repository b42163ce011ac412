// The project folder as the CLI finds it (issue 13, items 2 and 3): commands run from a sub-folder act on the
// project above, an unknown target is an error listing the known ones, and dbvc init creates a target.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lines, removeTemps, run, tempDir } from './helpers/cli.js';
import { createDatabase, type TestDatabase } from './helpers/db.js';

/** A project: envs/local.env naming the test database, sql/local/ with one migration, sql/aiven/ empty. */
async function project(t: TestDatabase): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'envs'));
  await mkdir(join(dir, 'sql', 'local'), { recursive: true });
  await mkdir(join(dir, 'sql', 'aiven'));
  await writeFile(join(dir, 'envs', 'local.env'), `DATABASE_URL=${t.url}\n`);
  await writeFile(join(dir, 'envs', 'neon.env.example'), 'DATABASE_URL=postgres://u:PASSWORD@h/db\n');
  await writeFile(join(dir, 'sql', 'local', '0001_t.up.sql'), 'CREATE TABLE t (id int);\n');
  await writeFile(join(dir, 'sql', 'local', '0001_t.down.sql'), 'DROP TABLE t;\n');
  return dir;
}

const projects = suite<{ t: TestDatabase }>('cli project folder');
projects.before.each(async (context) => {
  context.t = await createDatabase();
});
projects.after.each(async (context) => {
  await context.t.drop();
});
projects.after(removeTemps);

projects('from a sub-folder, commands find the project above and say which one they use', async ({ t }) => {
  const dir = await project(t);
  const status = await run(['status'], { cwd: join(dir, 'sql') });
  assert.is(status.code, 0, status.stderr);
  assert.is(lines(status.stderr)[0], `project folder: ${dir}`);
  assert.ok(status.stdout.includes('applied: 0, pending: 1\n'), status.stdout);

  const here = await run(['status'], { cwd: dir });
  assert.is(here.code, 0, here.stderr);
  assert.not.ok(here.stderr.includes('project folder'), 'nothing to say when the current folder is the project');

  const revision = await run(['revision', 'x'], { cwd: join(dir, 'sql', 'local') });
  assert.is(revision.code, 0, revision.stderr);
  assert.equal(lines(revision.stdout), ['created sql/local/0002_x.up.sql', 'created sql/local/0002_x.down.sql']);
  assert.ok(existsSync(join(dir, 'sql', 'local', '0002_x.up.sql')));
  assert.not.ok(existsSync(join(dir, 'sql', 'local', 'sql')), 'no sql/local/sql/local/ inside the target folder');

});

projects('an unknown target is an error listing the known ones; nothing is created', async ({ t }) => {
  const dir = await project(t);
  const expected = `error unknown target "nosuch": there is no sql/nosuch/ and no envs/nosuch.env in ${dir}\n`
    + 'hint known targets: aiven, local, neon; dbvc init nosuch creates a new one\n';
  for (const args of [['revision', 'x', '--db', 'nosuch'], ['status', '--db', 'nosuch'], ['upgrade', '--db', 'nosuch']]) {
    const { code, stdout, stderr } = await run(args, { cwd: dir });
    assert.is(code, 2, args.join(' '));
    assert.is(stderr, expected, args.join(' '));
    assert.is(stdout, '');
  }
  assert.equal((await readdir(join(dir, 'sql'))).sort(), ['aiven', 'local']);
});

projects('the hint for a known target without an env file names the example only when there is one', async ({ t }) => {
  const dir = await project(t);
  const neon = await run(['status', '--db', 'neon'], { cwd: dir });
  assert.is(neon.code, 2);
  assert.match(neon.stderr, /^hint copy envs\/neon\.env\.example to envs\/neon\.env and fill it in, or pass --url$/m);
  const aiven = await run(['status', '--db', 'aiven'], { cwd: dir });
  assert.is(aiven.code, 2);
  assert.match(aiven.stderr, /^hint create envs\/aiven\.env holding DATABASE_URL=postgres:\/\/\.\.\., or pass --url$/m);
});

projects('init NAME writes sql/NAME/ and envs/NAME.env.example, refuses an existing target, and the target is then known', async ({ t }) => {
  const dir = await project(t);
  const init = await run(['init', 'reporting'], { cwd: join(dir, 'sql') });
  assert.is(init.code, 0, init.stderr);
  assert.equal(lines(init.stdout), ['created sql/reporting/', 'created envs/reporting.env.example']);
  assert.match(init.stderr, /^next: copy envs\/reporting\.env\.example to envs\/reporting\.env and set DATABASE_URL/m);
  assert.match(await readFile(join(dir, 'envs', 'reporting.env.example'), 'utf8'), /^DATABASE_URL=postgres:\/\//m);
  const revision = await run(['revision', 'first', '--db', 'reporting'], { cwd: dir });
  assert.is(revision.code, 0, revision.stderr);
  assert.equal((await readdir(join(dir, 'sql', 'reporting'))).sort(), ['.gitkeep', '0001_first.down.sql', '0001_first.up.sql']);

  const again = await run(['init', 'local'], { cwd: dir });
  assert.is(again.code, 2);
  assert.is(again.stderr, 'error target "local" exists already: sql/local and envs/local.env\nhint use it with --db local, or pick another name\n');
  const bad = await run(['init', '../x'], { cwd: dir });
  assert.is(bad.code, 2);
  assert.is(bad.stderr, 'error "../x" is not a target name\nhint use letters, digits, - and _ (for example reporting)\n');
});

projects.run();
