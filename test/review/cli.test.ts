// dbvc review through the built CLI, on its default scratch server: an embedded PostgreSQL in <project>/.dbvc/scratch.
import { spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture, ROOT } from '../helpers/db.js';

const CLI = join(ROOT, 'dist/dbvc.cjs');

function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.DATABASE_URL;
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const test = suite<{ project: string }>('review/cli');

// Under the repository's .dbvc/ (not the OS temp folder): the server runs as the postgres user, who must enter it.
test.before(async (context) => {
  await mkdir(join(ROOT, '.dbvc'), { recursive: true });
  context.project = await mkdtemp(join(ROOT, '.dbvc', 'review-cli-'));
  await chmod(context.project, 0o755);
  await cp(fixture('review-locks'), join(context.project, 'sql', 'local'), { recursive: true });
});

test.after(async (context) => {
  await rm(context.project, { recursive: true, force: true });
});

test('review RANGE --json on the embedded scratch: no target needed, cold then warm', async ({ project }) => {
  const cold = await run(['review', '0001:0002', '--json'], project);
  assert.is(cold.code, 0, cold.stderr);
  const report = JSON.parse(cold.stdout);
  assert.equal([report.verdict, report.scratch.embedded, report.scratch.warm, report.range], ['ok', true, false, { from: '0001', to: '0002' }]);
  assert.match(report.scratch.server_version, /^17\./);
  const [index] = report.migrations[0].up.statements;
  assert.equal([index.line, index.locks.some((l: { mode: string }) => l.mode === 'ShareLock')], [1, true]);
  const warm = await run(['review', '0001:0002', '--json'], project);
  assert.is(warm.code, 0, warm.stderr);
  assert.is(JSON.parse(warm.stdout).scratch.warm, true);
});

test('--html DIR/ writes the review page as DIR/index.html beside the terminal output; --html alone is a usage error', async ({ project }) => {
  const result = await run(['review', '0001:0002', '--html', 'out/'], project);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /wrote the review page out\/index\.html \(verdict ok\)/);
  const html = await readFile(join(project, 'out', 'index.html'), 'utf8');
  assert.match(html, /^<!DOCTYPE html>/i);
  assert.ok(html.includes('0002_index'), 'the page names the migration');
  assert.ok(html.includes('ShareLock'), 'and the lock its statement takes');
  assert.not.match(html, /<script|https?:\/\/(?!www\.w3\.org)/i);
  const bare = await run(['review', '0001:0002', '--html'], project);
  assert.is(bare.code, 2, bare.stderr);
});

test('the terminal shows a verdict line per migration; --fail-on warning turns squawk warnings into exit 3', async ({ project }) => {
  const result = await run(['review', '0001:0002', '--fail-on', 'warning'], project);
  assert.is(result.code, 3, result.stderr);
  const lines = result.stdout.split('\n');
  assert.match(lines[0], /^findings {2}0002_index {2}transaction, 1 statement, .*; down reverts$/);
  assert.ok(lines.some((l) => /sql\/local\/0002_index\.up\.sql:1 CREATE INDEX product_sku_idx ON product \(sku\);/.test(l)));
  assert.ok(lines.some((l) => l.trim() === 'ShareLock public.product'));
  assert.ok(lines.some((l) => l.startsWith('  warning sql/local/0002_index.up.sql:1:1 require-concurrent-index-creation: ')));
  assert.match(result.stdout, /review 0001 -> 0002: findings \(1 migration, scratch PostgreSQL 17\.\d+ \(embedded\)\)\n$/);
});

test('the terminal lists the down file\'s statements, and a reapply that fails is named as such, not as the up', async ({ project }) => {
  const downs = join(project, 'downs');
  await cp(fixture('review-downs'), join(downs, 'sql', 'local'), { recursive: true });
  const result = await run(['review', '0002:0003'], downs);
  assert.is(result.code, 1, result.stderr); // a failure on the scratch database
  assert.ok(result.stdout.includes('  sql/local/0003_leave_enum.down.sql:2 SELECT 1;'), result.stdout);
  assert.match(result.stdout, /\n {2}up failed again after the down sql\/local\/0003_leave_enum\.up\.sql:1: type "mood" already exists \(SQLSTATE 42710\)\n/);
  assert.not.match(result.stdout, /\n {2}(up|down) failed sql/);
});

test('an empty range says there is nothing to review', async ({ project }) => {
  const result = await run(['review', '0002:0002'], project);
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, 'nothing to review: no migration after 0002\n');
});

test('a wrong --fail-on is a usage error (exit 2) before anything runs', async ({ project }) => {
  const result = await run(['review', '0001:0002', '--fail-on', 'fatal'], project);
  assert.is(result.code, 2);
  assert.match(result.stderr, /--fail-on fatal is not a severity/);
});

test.run();
