// Smoke run of the benchmark harness (bench/run.mjs --quick: N=10, one run) so it cannot rot. Timings are never
// asserted: only that it finishes and reports every workload and floor. Needs dist/ built.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = resolve(import.meta.dirname, '..');

const ROWS = [
  '| W5 `dbvc --version` | - |',
  '| W1 `upgrade`, empty database | 10 |',
  '| W2 `status`, all applied | 10 |',
  '| W2b `upgrade` at head | 10 |',
  '| W3 `downgrade base` | 10 |',
  '| W4 `upgrade --sql` base:head | 10 |',
  '| floor: `node -e 0` | 10 |',
  '| floor: psql `BEGIN; \\i up; COMMIT;` per file | 10 |',
  '| floor: `psql -1 -f` all ups | 10 |',
  '| floor: psql `BEGIN; \\i down; COMMIT;` per file | 10 |',
  '| floor: Node.js + postgres.js, connect and `select 1` | 10 |',
];

function runBench(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FORCE_COLOR;
  // On the suite's server when there is one; otherwise the harness starts its own embedded PostgreSQL.
  if (process.env.TEST_DATABASE_URL) env.BENCH_DATABASE_URL = process.env.TEST_DATABASE_URL;
  const child = spawn(process.execPath, [join(ROOT, 'bench/run.mjs'), '--quick', '--out', out], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('bench --quick runs every workload against its floor and writes the table and the JSON', async () => {
  const out = await mkdtemp(join(tmpdir(), 'dbvc-bench-smoke-'));
  try {
    const { code, stdout, stderr } = await runBench(out);
    assert.is(code, 0, `bench/run.mjs --quick exited ${code}:\n${stderr}`);
    for (const row of ROWS) assert.ok(stdout.includes(row), `no row starting ${row} in:\n${stdout}`);
    assert.ok(stdout.includes('| W1 `upgrade`, empty database: same runs, vs one transaction | 10 |'));
    assert.ok(stdout.includes('| W2 `status`, all applied: same runs, vs a Node.js connect | 10 |'));
    assert.ok(stdout.includes('| W2b `upgrade` at head: same runs, vs a Node.js connect | 10 |'));
    assert.ok(stdout.includes('## Targets (issue 6)'));
    assert.is(await readFile(join(out, 'latest.md'), 'utf8'), stdout);
    const json = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'));
    assert.equal(json.rows.map((r: { id: string; n: number | null }) => `${r.id}@${r.n}`),
      ['W5@null', 'W1@10', 'W1@10', 'W2@10', 'W2@10', 'W2b@10', 'W2b@10', 'W3@10', 'W4@10']);
    for (const row of json.rows) assert.ok(row.runs >= 1 && row.medianMs > 0, `${row.id}: no samples`);
    assert.is(json.node, process.version);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test.run();
