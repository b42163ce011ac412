#!/usr/bin/env node
// Issue 15: `dbvc check` and `dbvc revision NAME --autogenerate` (one added column) on top of N migrations (default
// 1000: 100 tables, then columns added to them), warm: the scratch template of the N migrations is kept from the
// dump before. Goal: each ≤ 3 s warm. The scratch server is the bench server (--scratch-url); the default embedded
// scratch (.dbvc/scratch of a project folder) is timed warm too. `dump` cold (the template built) and warm for scale.
// Medians of --runs rounds, each round running every contender once (the machine drifts). Writes
// bench/out/authoring.md and .json. --compare DIST/dbvc.cjs also times another build's check and autogenerate in the
// same rounds, alternating, for a ratio that the machine's drift does not blur.
// Usage: node bench/authoring.mjs [--n 1000] [--runs 3] [--out bench/out] [--compare path/to/dbvc.cjs]
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { measure, median } from './measure.mjs';
import { openServer } from './server.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/dbvc.cjs');
const TABLES = 100;
const GOAL_MS = 3000;
const log = (line) => process.stderr.write(`[bench authoring] ${line}\n`);

/** N migrations: the first TABLES create a table each, the rest add a column to one of them in turn. */
async function writeMigrations(dir, n) {
  await mkdir(dir, { recursive: true });
  const width = Math.max(4, String(n).length);
  for (let i = 1; i <= n; i++) {
    const version = String(i).padStart(width, '0');
    const table = `t_${((i - 1) % TABLES) + 1}`;
    const [up, down] = i <= TABLES
      ? [`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());\n`, `DROP TABLE ${table};\n`]
      : [`ALTER TABLE ${table} ADD COLUMN c_${i} integer;\n`, `ALTER TABLE ${table} DROP COLUMN c_${i};\n`];
    await writeFile(join(dir, `${version}_step_${i}.up.sql`), up);
    await writeFile(join(dir, `${version}_step_${i}.down.sql`), down);
  }
}

async function main() {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '1000' }, runs: { type: 'string', default: '3' }, out: { type: 'string', default: join(ROOT, 'bench/out') }, compare: { type: 'string' } } });
  const n = Number(values.n);
  const runs = Number(values.runs);
  const scratch = await mkdtemp(join(os.tmpdir(), 'dbvc-bench-authoring-'));
  const project = join(ROOT, '.dbvc', 'bench-authoring'); // the embedded scratch runs as postgres, who must enter it
  const server = await openServer(ROOT, log);
  const env = { ...process.env, NO_COLOR: '1' };
  for (const name of ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'DATABASE_URL', 'FORCE_COLOR']) delete env[name];
  const samples = { dumpCold: [], dumpWarm: [], check: [], autogenerate: [], checkEmbedded: [], autogenerateEmbedded: [], ...(values.compare ? { checkOther: [], autogenerateOther: [] } : {}) };
  try {
    await mkdir(project, { recursive: true, mode: 0o755 });
    const dir = join(project, 'sql', 'local');
    await writeMigrations(dir, n);
    const onServer = ['--dir', dir, '--scratch-url', server.urlFor('postgres')];
    const dbvc = async (args, cwd = ROOT, cli = CLI) => {
      const sample = await measure(process.execPath, [cli, ...args], { env, cwd, scratch });
      if (sample.code !== 0) throw new Error(`dbvc ${args.join(' ')} exited ${sample.code}: ${sample.stderr.trim().split('\n').slice(-5).join('\n')}`);
      return sample;
    };
    await dropTemplate(server, dir);
    samples.dumpCold.push(await dbvc(['dump', ...onServer]));
    const schema = await readFile(join(dir, 'schema.sql'), 'utf8');
    await dbvc(['check'], project); // builds the embedded scratch and its template: the embedded runs below are warm
    // one added column, drafted and then taken away again, so that every run starts from the same N migrations
    const autogenerate = async (args, cwd, cli = CLI) => {
      await writeFile(join(dir, 'schema.sql'), `${schema}\nALTER TABLE public.t_1 ADD COLUMN extra text;\n`);
      const sample = await dbvc(['revision', 'add extra', '--autogenerate', ...args], cwd, cli);
      const written = (await readdir(dir)).filter((f) => f.includes('_add_extra.'));
      if (written.length !== 2) throw new Error(`revision --autogenerate wrote ${written.join(', ') || 'nothing'}, not one pair`);
      await Promise.all(written.map((f) => rm(join(dir, f))));
      await writeFile(join(dir, 'schema.sql'), schema);
      return sample;
    };
    for (let k = 0; k < runs; k++) {
      await server.checkpoint();
      samples.check.push(await dbvc(['check', ...onServer]));
      await server.checkpoint();
      samples.autogenerate.push(await autogenerate(onServer, ROOT));
      samples.dumpWarm.push(await dbvc(['dump', ...onServer, '--out', '-']));
      if (values.compare) {
        samples.checkOther.push(await dbvc(['check', ...onServer], ROOT, resolve(values.compare)));
        samples.autogenerateOther.push(await autogenerate(onServer, ROOT, resolve(values.compare)));
      }
      samples.checkEmbedded.push(await dbvc(['check'], project));
      samples.autogenerateEmbedded.push(await autogenerate([], project));
      log(`round ${k + 1}/${runs}: check ${fmt(samples.check.at(-1).ms)}, autogenerate ${fmt(samples.autogenerate.at(-1).ms)}, dump ${fmt(samples.dumpWarm.at(-1).ms)}; embedded scratch: check ${fmt(samples.checkEmbedded.at(-1).ms)}, autogenerate ${fmt(samples.autogenerateEmbedded.at(-1).ms)}`);
    }
  } finally {
    await dropTemplate(server, join(project, 'sql', 'local')).catch(() => undefined);
    await server.close();
    await rm(scratch, { recursive: true, force: true });
    await rm(project, { recursive: true, force: true });
  }
  const medians = Object.fromEntries(Object.entries(samples).map(([id, list]) => [id, median(list.map((s) => s.ms))]));
  const runsOf = (id) => samples[id].map((s) => fmt(s.ms)).join(', ');
  const goal = (id) => `${medians[id] <= GOAL_MS ? 'met' : '**MISSED**'} (${fmt(medians[id])})`;
  const lines = [
    '# dbvc authoring benchmark (issue 15)', '',
    `${new Date().toISOString()} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'} · load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} · Node ${process.version} · PostgreSQL ${server.version} (${server.display.replace(/:[^:@/]*@/, ':***@')}) · ${n} migrations (${TABLES} tables, ${n - TABLES} added columns) · ${runs} run(s), medians`, '',
    '| workload | median | all runs |', '| --- | ---: | --- |',
    `| dump, cold (the template of the ${n} migrations built) | ${fmt(medians.dumpCold)} | ${runsOf('dumpCold')} |`,
    `| dump --out -, warm | ${fmt(medians.dumpWarm)} | ${runsOf('dumpWarm')} |`,
    `| check, warm (bench server as scratch) | ${fmt(medians.check)} | ${runsOf('check')} |`,
    `| revision --autogenerate of one added column, warm (bench server as scratch) | ${fmt(medians.autogenerate)} | ${runsOf('autogenerate')} |`,
    `| check, warm, default embedded scratch | ${fmt(medians.checkEmbedded)} | ${runsOf('checkEmbedded')} |`,
    `| revision --autogenerate, warm, default embedded scratch | ${fmt(medians.autogenerateEmbedded)} | ${runsOf('autogenerateEmbedded')} |`,
    ...(values.compare ? [
      `| check, warm, ${values.compare} (same rounds) | ${fmt(medians.checkOther)} | ${runsOf('checkOther')} |`,
      `| revision --autogenerate, warm, ${values.compare} (same rounds) | ${fmt(medians.autogenerateOther)} | ${runsOf('autogenerateOther')} |`,
    ] : []), '',
    ...(values.compare ? [`- against ${values.compare}: check ${(medians.check / medians.checkOther).toFixed(2)}×, autogenerate ${(medians.autogenerate / medians.autogenerateOther).toFixed(2)}× its time`] : []),
    `- check ≤ 3 s warm: ${goal('check')}; default embedded scratch ${goal('checkEmbedded')}`,
    `- revision --autogenerate ≤ 3 s warm: ${goal('autogenerate')}; default embedded scratch ${goal('autogenerateEmbedded')}`, '',
  ];
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'authoring.md'), lines.join('\n'));
  await writeFile(join(values.out, 'authoring.json'), JSON.stringify({ n, runs, server: server.version, medians, samples }, null, 2) + '\n');
  process.stdout.write(lines.join('\n'));
}

/** Drops the scratch template of these migrations only: the bench server may be shared (BENCH_DATABASE_URL). */
async function dropTemplate(server, dir) {
  const { loadMigrations } = await import(pathToFileURL(join(ROOT, 'dist/fs.js')).href);
  const { templateName } = await import(pathToFileURL(join(ROOT, 'dist/review/scratch.js')).href);
  const name = templateName(await loadMigrations(dir, 'bench'));
  await server.query('postgres', `drop database if exists ${name} with (force)`);
}

function fmt(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exitCode = 1;
});
