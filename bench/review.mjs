#!/usr/bin/env node
// W6 (issue 14): `dbvc review` of 1 new migration on top of N applied (default 1000), cold (no template on the
// scratch server, nor a spare copy of one) and warm (the template kept; then again, with the spare copy the warm
// review left: a server with fsync on gets no spare from a review that built its template),
// beside W1 (`upgrade` of the same N on an empty database) on the same server: goals warm ≤ 2 s, cold ≤ W1 + 2 s.
// The scratch server is the bench server (--scratch-url), so both run on the same PostgreSQL; the default embedded
// scratch (in a project folder under .dbvc/, cold meaning from no folder at all, initdb included) is timed too.
// Writes bench/out/review.md and .json. --cli times another build (say an older commit's dist, for an A/B).
// Usage: node bench/review.mjs [--n 1000] [--runs 3] [--out bench/out] [--cli dist/dbvc.cjs]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measure, median } from './measure.mjs';
import { openServer } from './server.mjs';
import { writeWorkload } from './workload.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line) => process.stderr.write(`[bench review] ${line}\n`);

async function main() {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '1000' }, runs: { type: 'string', default: '3' }, cli: { type: 'string', default: join(ROOT, 'dist/dbvc.cjs') }, out: { type: 'string', default: join(ROOT, 'bench/out') } } });
  const n = Number(values.n);
  const runs = Number(values.runs);
  const scratch = await mkdtemp(join(os.tmpdir(), 'dbvc-bench-review-'));
  const server = await openServer(ROOT, log);
  const env = { ...process.env, NO_COLOR: '1' };
  for (const name of ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'DATABASE_URL', 'FORCE_COLOR']) delete env[name];
  const samples = { cold: [], warm: [], warmAgain: [], w1: [], embeddedCold: [], embeddedWarm: [] };
  const project = join(ROOT, '.dbvc', 'bench-review'); // the embedded server runs as postgres, who must enter it
  // its own sql/ makes it the project folder: else dbvc finds this repository above it, and its .dbvc/scratch
  await mkdir(join(project, 'sql'), { recursive: true, mode: 0o755 });
  try {
    const work = await writeWorkload(scratch, n + 1);
    const last = work.head;
    const before = String(n).padStart(last.length, '0');
    const dbvc = async (args, cwd = ROOT) => {
      const sample = await measure(process.execPath, [resolve(values.cli), ...args], { env, cwd, scratch });
      if (sample.code !== 0 && sample.code !== 3) throw new Error(`dbvc ${args.join(' ')} exited ${sample.code}: ${sample.stderr.trim().split('\n').slice(-5).join('\n')}`);
      return sample;
    };
    const review = () => dbvc(['review', `${before}:${last}`, '--dir', work.dir, '--scratch-url', server.urlFor('postgres'), '--json']);
    for (let k = 0; k < runs; k++) {
      for (const row of await server.query('postgres', "select datname from pg_database where datname ~ '^dbvc_scratch_(tpl|spare)_'")) {
        await server.query('postgres', `drop database ${row.datname} with (force)`);
      }
      await server.checkpoint();
      samples.cold.push(await review());
      await server.checkpoint();
      samples.warm.push(await review());
      await server.checkpoint();
      samples.warmAgain.push(await review());
      const db = await server.create();
      await server.checkpoint();
      samples.w1.push(await dbvc(['upgrade', before, '--url', server.urlFor(db), '--dir', work.dir]));
      await server.drop(db);
      await rm(join(project, '.dbvc'), { recursive: true, force: true });
      const embedded = () => dbvc(['review', `${before}:${last}`, '--dir', work.dir, '--json'], project);
      samples.embeddedCold.push(await embedded());
      samples.embeddedWarm.push(await embedded());
      log(`round ${k + 1}/${runs}: cold ${fmt(samples.cold.at(-1).ms)}, warm ${fmt(samples.warm.at(-1).ms)} then ${fmt(samples.warmAgain.at(-1).ms)}, W1 ${fmt(samples.w1.at(-1).ms)}; embedded scratch cold ${fmt(samples.embeddedCold.at(-1).ms)}, warm ${fmt(samples.embeddedWarm.at(-1).ms)}`);
    }
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
    await rm(project, { recursive: true, force: true });
  }
  const [cold, warm, warmAgain, w1, embeddedCold, embeddedWarm] = ['cold', 'warm', 'warmAgain', 'w1', 'embeddedCold', 'embeddedWarm'].map((id) => median(samples[id].map((x) => x.ms)));
  const runsOf = (id) => samples[id].map((s) => fmt(s.ms)).join(', ');
  const lines = [
    `# dbvc review benchmark (W6, issue 14)`, '',
    `${new Date().toISOString()} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'} · Node ${process.version} · PostgreSQL ${server.version} (${server.display.replace(/:[^:@/]*@/, ':***@')}) · ${runs} run(s), medians`, '',
    `| workload | median | all runs |`, '| --- | ---: | --- |',
    `| W6 cold: review 1 new migration on ${n} applied, no template (bench server as scratch) | ${fmt(cold)} | ${runsOf('cold')} |`,
    `| W6 warm: the same, template kept | ${fmt(warm)} | ${runsOf('warm')} |`,
    `| W6 warm again: template and spare copy kept | ${fmt(warmAgain)} | ${runsOf('warmAgain')} |`,
    `| W1: upgrade ${n} on an empty database (bench server) | ${fmt(w1)} | ${runsOf('w1')} |`,
    `| W6 cold, default embedded scratch from nothing (initdb included) | ${fmt(embeddedCold)} | ${runsOf('embeddedCold')} |`,
    `| W6 warm, default embedded scratch | ${fmt(embeddedWarm)} | ${runsOf('embeddedWarm')} |`, '',
    `- warm ≤ 2 s: ${warm <= 2000 ? 'met' : '**MISSED**'} (${fmt(warm)}, again ${fmt(warmAgain)}; default embedded scratch ${fmt(embeddedWarm)})`,
    `- cold ≤ W1 + 2 s: ${cold <= w1 + 2000 ? 'met' : '**MISSED**'} (${fmt(cold)} against ${fmt(w1 + 2000)})`, '',
  ];
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'review.md'), lines.join('\n'));
  await writeFile(join(values.out, 'review.json'), JSON.stringify({ n, runs, server: server.version, samples, medians: { cold, warm, warmAgain, w1, embeddedCold, embeddedWarm } }, null, 2) + '\n');
  process.stdout.write(lines.join('\n'));
}

function fmt(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exitCode = 1;
});
