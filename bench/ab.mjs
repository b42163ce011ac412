#!/usr/bin/env node
// A/B rounds for W2 and W2b: two builds of dbvc beside the "Node.js connect" floor on one database holding N applied
// migrations, every contender once per round in rotating order; ratios are per round, then their median (the
// machine's speed drifts too much between rounds for ratios of medians). Timings stay here, never in tests.
// Usage: node bench/ab.mjs --old /tmp/old/dist [--new dist] [--n 1000] [--rounds 15] [--commands status,upgrade]
// (BENCH_DATABASE_URL=postgres://... uses that server instead of an embedded one)
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './measure.mjs';
import { openServer } from './server.mjs';
import { writeWorkload } from './workload.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line) => process.stderr.write(`[ab] ${line}\n`);

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: join(ROOT, 'dist') },
    n: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '15' },
    commands: { type: 'string', default: 'status,upgrade' },
  },
});
if (!values.old) throw new Error('usage: node bench/ab.mjs --old DIST [--new DIST] [--n 1000] [--rounds 15] [--commands status,upgrade]');

const env = { ...process.env, NO_COLOR: '1' };
for (const name of ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'DATABASE_URL', 'FORCE_COLOR']) delete env[name];

const scratch = await mkdtemp(join(os.tmpdir(), 'dbvc-ab-'));

/** One whole process: wall time, and its CPU time (user + system, from GNU time), which load disturbs less. */
async function measure(args) {
  const out = join(scratch, 'time');
  const began = performance.now();
  const code = await new Promise((done, fail) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', out, process.execPath, ...args], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', fail);
    child.on('close', (exit) => (exit === 0 ? done(0) : fail(new Error(`${args.join(' ')} exited ${exit}: ${stderr}`))));
  });
  const ms = performance.now() - began;
  const [user, system] = (await readFile(out, 'utf8')).trim().split('\n').pop().split(' ').map(Number);
  return { ms, cpuMs: (user + system) * 1000, code };
}

const server = await openServer(ROOT, log);
try {
  const work = await writeWorkload(scratch, Number(values.n));
  const db = await server.create();
  const url = server.urlFor(db);
  const run = (cli, args) => measure([join(resolve(cli), 'dbvc.cjs'), ...args, '--url', url, '--dir', work.dir]);
  await run(values.new, ['upgrade']);
  const contenders = [['floor', () => measure([join(ROOT, 'bench/connect-floor.cjs'), url])]];
  for (const command of values.commands.split(',')) {
    contenders.push([`old ${command}`, () => run(values.old, [command])], [`new ${command}`, () => run(values.new, [command])]);
  }
  const times = Object.fromEntries(contenders.map(([name]) => [name, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (let k = 0; k < contenders.length; k++) {
      const [name, task] = contenders[(k + round) % contenders.length];
      times[name].push(await task());
    }
  }
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  log(`N=${values.n}, ${values.rounds} rounds, load average ${load}`);
  process.stdout.write('(ratios: median of the per-round ratios to the floor)\n');
  for (const [name, list] of Object.entries(times)) {
    const wall = list.map((s) => s.ms);
    const cpu = list.map((s) => s.cpuMs);
    const ratio = (key) => median(list.map((s, i) => s[key] / times.floor[i][key])).toFixed(2);
    process.stdout.write(`${name.padEnd(16)} wall ${median(wall).toFixed(0).padStart(5)} ms ${ratio('ms')}x   cpu ${median(cpu).toFixed(0).padStart(5)} ms ${ratio('cpuMs')}x\n`);
  }
} finally {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
}
