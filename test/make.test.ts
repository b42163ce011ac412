// The Makefile as people type it (issue 13, items 12 and 20): make adds nothing of its own to stdout, and make
// variables reach dbvc as one argument each, whatever they hold. Runs the repository's Makefile in a temp project,
// with the build taken as done (-o build) and dbvc from this checkout's dist/.
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, removeTemps, run, tempDir, type Result } from './helpers/cli.js';
import { ROOT } from './helpers/db.js';

function make(args: string[], cwd: string): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  delete env.DATABASE_URL;
  for (const name of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL']) delete env[name]; // as typed at a shell, not from make test
  const child = spawn('make', ['-f', join(ROOT, 'Makefile'), '-o', 'build', `DBVC=node ${CLI}`, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function project(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'envs'));
  await mkdir(join(dir, 'sql', 'local'), { recursive: true });
  await writeFile(join(dir, 'sql', 'local', '0001_t.up.sql'), 'CREATE TABLE t (id int);\n');
  await writeFile(join(dir, 'sql', 'local', '0001_t.down.sql'), 'DROP TABLE t;\n');
  return dir;
}

const test = suite('make');
test.after(removeTemps);

test('make migrate SQL=1 and make rollback SQL=1 print the script and nothing else on stdout', async () => {
  const dir = await project();
  const made = await make(['migrate', 'SQL=1'], dir);
  assert.is(made.code, 0, made.stderr);
  const direct = await run(['upgrade', '--sql', '--db', 'local'], { cwd: dir });
  assert.is(direct.code, 0, direct.stderr);
  assert.is(made.stdout, direct.stdout);
  assert.match(made.stdout, /^-- dbvc \S+ offline upgrade script\n/);

  const back = await make(['rollback', 'SQL=1', 'REV=head:base', 'OUT=down dir/'], dir);
  assert.is(back.code, 0, back.stderr);
  assert.is(back.stdout, '');
  assert.equal(await readdir(join(dir, 'down dir')), ['001_downgrade_0001_t.sql']);
});

test('make revision NAME="fix customer\'s email" passes the name as one argument', async () => {
  const dir = await project();
  const made = await make(['revision', "NAME=fix customer's email; touch pwned `id`"], dir);
  assert.is(made.code, 0, made.stderr);
  assert.is(made.stdout, 'created sql/local/0002_fix_customer_s_email_touch_pwned_id.up.sql\ncreated sql/local/0002_fix_customer_s_email_touch_pwned_id.down.sql\n');
  assert.equal((await readdir(dir)).sort(), ['envs', 'sql']);

  const missing = await make(['revision'], dir);
  assert.is(missing.code, 2);
  assert.is(missing.stdout, '');
  assert.match(missing.stderr, /^usage: make revision DB=aiven NAME="add orders"$/m);
});

test.run();
