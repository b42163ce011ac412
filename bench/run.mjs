#!/usr/bin/env node
// `make bench` (issue 6): times whole dbvc CLI processes against floors measured on the same server in the same run.
// Usage: node bench/run.mjs [--sizes 100,1000,10000] [--runs 5] [--big-runs 2] [--only W2,W2b] [--quick] [--out bench/out]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measure, memorySource } from './measure.mjs';
import { buildRows, createFigures, renderTable, verdicts } from './report.mjs';
import { maskUrl, openServer } from './server.mjs';
import { writeWorkload } from './workload.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/dbvc.cjs');
const BIG = 10000; // from this N on, W1/W3 and their psql floors get --big-runs rounds (minutes each)
const SLOW_SAMPLES = 3;
const SLOW_BUDGET_MS = 30_000;

const log = (line) => process.stderr.write(`[bench] ${line}\n`);

function readOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '100,1000,10000' },
      runs: { type: 'string', default: '5' },
      'big-runs': { type: 'string', default: '2' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' }, // W2,W2b: the read-only workloads alone (a database brought to head once, untimed)
      out: { type: 'string', default: join(ROOT, 'bench/out') },
    },
  });
  const sizes = values.quick ? [10] : values.sizes.split(',').map(Number);
  const runs = values.quick ? 1 : Number(values.runs);
  const bigRuns = values.quick ? 1 : Number(values['big-runs']);
  const only = values.only?.split(',');
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(runs >= 1) || !(bigRuns >= 1) || only?.some((id) => id !== 'W2' && id !== 'W2b')) {
    throw new Error('usage: node bench/run.mjs [--sizes 100,1000,10000] [--runs 5] [--big-runs 2] [--only W2,W2b] [--quick] [--out DIR]');
  }
  return { sizes, runs, bigRuns, only, quick: values.quick, out: resolve(values.out) };
}

// The real binary: Debian's /usr/bin/psql is a Perl wrapper costing 30-45 ms a call (shared/FACTS.md).
function findPsql() {
  if (process.env.BENCH_PSQL) return process.env.BENCH_PSQL;
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((d) => existsSync(join(base, d, 'bin/psql'))) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  if (majors.length) return join(base, majors[0], 'bin/psql');
  log('warning: no /usr/lib/postgresql/<major>/bin/psql; using psql from PATH (set BENCH_PSQL to choose)');
  return 'psql';
}

function childEnv() {
  const env = { ...process.env, NO_COLOR: '1' };
  for (const name of ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'DATABASE_URL', 'FORCE_COLOR']) delete env[name];
  return env;
}

/** The contenders: each returns a sample { ms, peakKB }; a dbvc run that fails aborts the benchmark. */
function createRunners(scratch, psql) {
  const env = childEnv();
  const dbvc = async (args) => {
    const sample = await measure(process.execPath, [CLI, ...args], { env, cwd: ROOT, scratch });
    if (sample.code !== 0) throw new Error(`dbvc ${args.join(' ')} exited ${sample.code}:\n${sample.stderr.trim().split('\n').slice(-15).join('\n')}`);
    return sample;
  };
  const node = () => measure(process.execPath, ['-e', '0'], { env, cwd: ROOT, scratch });
  const connect = async (url) => {
    const sample = await measure(process.execPath, [join(ROOT, 'bench/connect-floor.cjs'), url], { env, cwd: ROOT, scratch });
    if (sample.code !== 0) sample.error = `connect-floor.cjs exited ${sample.code}: ${sample.stderr.trim().split('\n').pop()}`;
    return sample;
  };
  const psqlRun = async (url, args) => {
    const sample = await measure(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args], { env, cwd: ROOT, scratch });
    if (sample.code !== 0) {
      const lines = sample.stderr.trim().split('\n');
      sample.error = `psql exited ${sample.code}: ${lines.find((l) => /ERROR|FATAL/.test(l)) ?? lines.pop()}`;
    }
    return sample;
  };
  return { dbvc, node, connect, psql: psqlRun };
}

// Alternating who goes first cancels the drift of the machine's speed between the two (shared/FACTS.md).
async function inTurn(round, ...tasks) {
  const order = tasks.map((_, i) => (i + round) % tasks.length);
  const results = [];
  for (const i of order) results[i] = await tasks[i]();
  return results;
}

/** W5 (and W4 per N below): a dbvc run beside a `node -e 0` run, `runs` times (fewer if slow, see wantsMore). */
async function benchAgainstNode(ctx, id, n, args) {
  for (let k = 0; wantsMore(ctx, id, n); k++) {
    const [tool, floor] = await inTurn(k, () => ctx.run.dbvc(args), () => ctx.run.node());
    recordPair(ctx, id, n, 'node', tool, floor);
  }
}

// A workload meant to take milliseconds that takes seconds stops at 3 samples, to keep make bench near 10 minutes.
function wantsMore(ctx, id, n) {
  const samples = ctx.figures.samples(id, n);
  const spentMs = samples.reduce((sum, s) => sum + s.ms, 0);
  return samples.length < ctx.runs && !(samples.length >= SLOW_SAMPLES && spentMs > SLOW_BUDGET_MS);
}

function recordPair(ctx, id, n, floorId, tool, floor, isNewToolSample = true) {
  if (isNewToolSample) ctx.figures.add(id, n, tool);
  if (floor.error) return ctx.figures.fail(floorId, n, floor.error);
  ctx.figures.add(floorId, n, floor);
  ctx.figures.pair(id, n, floorId, tool, floor);
}

async function benchSize(ctx, n) {
  const work = await writeWorkload(ctx.scratch, n);
  if (ctx.only) return benchReadOnly(ctx, n, work);
  const rounds = n >= BIG ? Math.min(ctx.runs, ctx.bigRuns) : ctx.runs;
  const repeat = Math.ceil(ctx.runs / rounds); // the cheap read-only workloads still get `runs` samples
  const { server, run } = ctx;
  const dbArgs = (db) => ['--url', server.urlFor(db), '--dir', work.dir];
  for (let k = 0; k < rounds; k++) {
    const began = performance.now();
    const [dbvcDb, perFileDb, oneTxDb] = [await server.create(), await server.create(), await server.create()];
    const fresh = (task) => async () => {
      await server.checkpoint();
      return task();
    };
    const [w1, up, oneTx] = await inTurn(k,
      fresh(() => run.dbvc(['upgrade', ...dbArgs(dbvcDb)])),
      fresh(() => run.psql(server.urlFor(perFileDb), ['-f', work.upPerFile])),
      fresh(() => run.psql(server.urlFor(oneTxDb), ['-1', '-f', work.upAll])));
    await expectVersion(ctx, dbvcDb, work.head);
    recordPair(ctx, 'W1', n, 'psqlUp', w1, up);
    recordPair(ctx, 'W1', n, 'psqlOneTx', w1, oneTx, false);
    await server.drop(oneTxDb);
    for (let r = 0; r < repeat; r++) {
      for (const [id, command] of [['W2', 'status'], ['W2b', 'upgrade']]) {
        if (!wantsMore(ctx, id, n)) continue;
        const [tool, node, connect] = await inTurn(r, () => run.dbvc([command, ...dbArgs(dbvcDb)]), () => run.node(), () => run.connect(server.urlFor(dbvcDb)));
        recordPair(ctx, id, n, 'node', tool, node);
        recordPair(ctx, id, n, 'nodeConnect', tool, connect, false);
      }
    }
    await expectVersion(ctx, dbvcDb, work.head);
    const [w3, down] = await inTurn(k,
      fresh(() => run.dbvc(['downgrade', 'base', ...dbArgs(dbvcDb)])),
      fresh(() => run.psql(server.urlFor(perFileDb), ['-f', work.downPerFile])));
    await expectVersion(ctx, dbvcDb, null);
    recordPair(ctx, 'W3', n, 'psqlDown', w3, down);
    await server.drop(dbvcDb);
    await server.drop(perFileDb);
    log(`N=${n} round ${k + 1}/${rounds}: W1 ${fmt(w1)} (psql per file ${fmt(up)}, -1 ${fmt(oneTx)}), W3 ${fmt(w3)} (psql ${fmt(down)}); ${((performance.now() - began) / 1000).toFixed(0)} s`);
  }
  await benchAgainstNode(ctx, 'W4', n, ['upgrade', '--sql', '--dir', work.dir]);
  await rm(join(ctx.scratch, `w${n}`), { recursive: true, force: true });
}

/** --only W2,W2b: those workloads `runs` times on one database brought to head by an untimed upgrade. */
async function benchReadOnly(ctx, n, work) {
  const { server, run } = ctx;
  const db = await server.create();
  const dbArgs = ['--url', server.urlFor(db), '--dir', work.dir];
  await run.dbvc(['upgrade', ...dbArgs]);
  await expectVersion(ctx, db, work.head);
  for (let r = 0; r < ctx.runs; r++) {
    for (const [id, command] of [['W2', 'status'], ['W2b', 'upgrade']]) {
      if (!ctx.only.includes(id)) continue;
      const [tool, node, connect] = await inTurn(r, () => run.dbvc([command, ...dbArgs]), () => run.node(), () => run.connect(server.urlFor(db)));
      recordPair(ctx, id, n, 'node', tool, node);
      recordPair(ctx, id, n, 'nodeConnect', tool, connect, false);
    }
  }
  await server.drop(db);
  await rm(join(ctx.scratch, `w${n}`), { recursive: true, force: true });
}

function fmt(sample) {
  return sample.error ? 'failed' : `${(sample.ms / 1000).toFixed(2)} s`;
}

// The harness must time the real work: a run that silently did nothing would look fast.
async function expectVersion(ctx, db, expected) {
  const rows = await ctx.server.query(db, 'select version_num from alembic_version');
  const actual = rows.length ? rows[0].version_num : null;
  if (rows.length > 1 || actual !== expected) throw new Error(`database ${db} is at ${actual ?? 'base'}, expected ${expected ?? 'base'}`);
}

function describeMachine() {
  const cpus = os.cpus();
  return { cpuModel: cpus[0]?.model ?? 'unknown', cpus: cpus.length, memGB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, loadAvgStart: os.loadavg().map((l) => +l.toFixed(2)) };
}

async function main() {
  const options = readOptions(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run make build (make bench does it)`);
  const psql = findPsql();
  const psqlVersion = execFileSync(psql, ['--version'], { encoding: 'utf8' }).trim();
  const machine = describeMachine();
  const scratch = await mkdtemp(join(os.tmpdir(), 'dbvc-bench-'));
  const server = await openServer(ROOT, log);
  let stopping;
  const stop = () => (stopping ??= (async () => {
    await server.close().catch((error) => log(`cleanup: ${error.message}`));
    await rm(scratch, { recursive: true, force: true });
  })());
  process.once('SIGINT', () => stop().finally(() => process.exit(130)));
  const ctx = { ...options, scratch, server, run: createRunners(scratch, psql), figures: createFigures() };
  const began = Date.now();
  log(`${server.display}, PostgreSQL ${server.version}; ${psqlVersion} (${psql}); sizes ${options.sizes.join(',')}, runs ${options.runs} (W1/W3 from N=${BIG}: ${options.bigRuns})`);
  try {
    if (!options.only) await benchAgainstNode(ctx, 'W5', null, ['--version']);
    for (const n of options.sizes) await benchSize(ctx, n);
  } finally {
    await stop();
  }
  const info = { date: new Date().toISOString(), machine: { ...machine, loadAvgEnd: os.loadavg().map((l) => +l.toFixed(2)) }, node: process.version, server: { kind: server.kind, display: maskUrl(server.display), version: server.version }, psql: `${psqlVersion} (${psql})`, memorySource, options, seconds: Math.round((Date.now() - began) / 1000) };
  await writeReport(info, ctx.figures, options);
}

async function writeReport(info, figures, options) {
  const { rows, floorRows } = buildRows(figures, options.sizes);
  const lines = verdicts(rows, options.sizes);
  const table = renderTable(rows, floorRows);
  const { machine } = info;
  const bigNote = options.sizes.some((n) => n >= BIG) && options.bigRuns < options.runs
    ? ` W1/W3 and their psql floors at N≥${BIG}: ${Math.min(options.runs, options.bigRuns)} run(s), each takes minutes.` : '';
  const markdown = [
    `# dbvc benchmark (${options.quick ? 'smoke run, N=10, 1 run: figures mean nothing' : 'make bench'})`,
    '',
    `${info.date} · ${machine.cpus} × ${machine.cpuModel}, ${machine.memGB} GB, ${machine.os} · Node ${info.node} · PostgreSQL ${info.server.version} (${info.server.display}) · ${info.psql}`,
    '',
    `Whole processes, ${options.runs} run(s) each unless the runs column says fewer, W1 to W3 on a fresh database per run.${bigNote} A workload meant to take milliseconds that takes seconds stops after ${SLOW_SAMPLES} runs once it has used ${SLOW_BUDGET_MS / 1000} s. Ratio = median of per-run ratios, each run paired with a floor run beside it (order alternating). dbvc and \`node -e 0\` run with NODE_EXTRA_CA_CERTS unset. Peak memory: ${info.memorySource}. Load average ${machine.loadAvgStart.join(' ')} at start, ${machine.loadAvgEnd.join(' ')} at end; took ${info.seconds} s.`,
    '',
    table,
    '',
    '## Targets (issue 6)',
    '',
    ...lines.map((l) => `- ${l.status === 'MISSED' ? '**MISSED**' : l.status}: ${l.text}`),
    '',
  ].join('\n');
  const missed = lines.filter((l) => l.status === 'MISSED');
  await mkdir(options.out, { recursive: true });
  await writeFile(join(options.out, 'latest.md'), markdown);
  await writeFile(join(options.out, 'latest.json'), JSON.stringify({ ...info, rows, floors: floorRows, targets: lines }, null, 2) + '\n');
  process.stdout.write(markdown);
  log(`${missed.length ? `${missed.length} target(s) MISSED` : 'no target missed'}; wrote ${join(options.out, 'latest.md')} and latest.json`);
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exitCode = 1;
});
