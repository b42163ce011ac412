#!/usr/bin/env node
// A/B rounds for W2 and W2b: two builds of dbvc beside the "Node.js connect" floor on one database holding N applied
// migrations, every contender once per round in rotating order; ratios are per round, then their median (the
// machine's speed drifts too much between rounds for ratios of medians). Timings stay here, never in tests.
// Usage: node bench/ab.mjs --old /tmp/old/dist [--new dist] [--n 1000] [--rounds 15] [--commands status,upgrade]
// (BENCH_DATABASE_URL=postgres://... uses that server instead of an embedded one)
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measure, median } from './measure.mjs';
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
const server = await openServer(ROOT, log);
try {
  const work = await writeWorkload(scratch, Number(values.n));
  const db = await server.create();
  const url = server.urlFor(db);
  const run = async (cli, args) => {
    const sample = await measure(process.execPath, [join(resolve(cli), 'dbvc.cjs'), ...args, '--url', url, '--dir', work.dir], { env, cwd: ROOT, scratch });
    if (sample.code !== 0) throw new Error(`${cli} ${args.join(' ')} exited ${sample.code}: ${sample.stderr}`);
    return sample.ms;
  };
  await run(values.new, ['upgrade']);
  const contenders = [['floor', () => measure(process.execPath, [join(ROOT, 'bench/connect-floor.cjs'), url], { env, cwd: ROOT, scratch }).then((s) => s.ms)]];
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
  for (const [name, list] of Object.entries(times)) {
    const ratios = list.map((ms, i) => ms / times.floor[i]);
    process.stdout.write(`${name.padEnd(16)} median ${median(list).toFixed(1).padStart(7)} ms   vs floor: median of per-round ratios ${median(ratios).toFixed(2)}x\n`);
  }
} finally {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
}
