// W7 (issue 16): fleets. status over 50 databases beside one database's status; upgrade of 20 migrations over 50
// databases at --parallel 1 and 8 beside 50 sequential dbvc processes. Writes bench/out/fleet.md and fleet.json.
// FLEET_DATABASES=N and FLEET_RUNS=N narrow it, FLEET_ONLY=status times status alone (W7a); BENCH_DATABASE_URL=postgres://...
// uses that server; FLEET_CLI=path/to/dist times another build, and with FLEET_ONLY=status, FLEET_OLD=path/to/dist times
// that build too in the same runs (an A/B comparison).
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median, summarize } from './measure.mjs';
import { maskUrl, openServer } from './server.mjs';
import { writeWorkload } from './workload.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(resolve(process.env.FLEET_CLI ?? join(ROOT, 'dist')), 'dbvc.cjs');
const STATUS_ONLY = process.env.FLEET_ONLY === 'status';
const OLD_CLI = STATUS_ONLY && process.env.FLEET_OLD ? join(resolve(process.env.FLEET_OLD), 'dbvc.cjs') : undefined;
const DATABASES = Number(process.env.FLEET_DATABASES ?? 50);
const MIGRATIONS = 20;
const RUNS = Number(process.env.FLEET_RUNS ?? 3);
const log = (line) => process.stderr.write(`[bench fleet] ${line}\n`);

function childEnv() {
  const env = { ...process.env, NO_COLOR: '1' };
  for (const name of ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'DATABASE_URL', 'FORCE_COLOR']) delete env[name];
  return env;
}

async function main() {
  const scratch = await mkdtemp(join(os.tmpdir(), 'dbvc-bench-fleet-'));
  const server = await openServer(ROOT, log);
  try {
    const project = join(scratch, 'project');
    const workload = await writeWorkload(scratch, MIGRATIONS);
    await cp(workload.dir, join(project, 'sql', 'w'), { recursive: true });
    await mkdir(join(project, 'envs'), { recursive: true });
    const databases = [];
    for (let i = 0; i < DATABASES; i++) databases.push(await server.create());
    await writeFile(join(project, 'envs', 'w.urls'), databases.map((db) => server.urlFor(db)).join('\n') + '\n');
    await writeFile(join(project, 'envs', 'w.env'), 'DBVC_URLS_FILE=envs/w.urls\n');
    const env = childEnv();
    const dbvc = async (args, cli = CLI) => {
      const sample = await measure(process.execPath, [cli, ...args, '--lock-timeout', '60s'], { env, cwd: project, scratch });
      if (sample.code !== 0) throw new Error(`dbvc ${args.join(' ')} exited ${sample.code}:\n${sample.stderr.split('\n').slice(-10).join('\n')}`);
      return sample;
    };
    const single = ['status', '--url', server.urlFor(databases[0]), '--dir', 'sql/w'];
    const reset = async () => {
      for (const db of databases) await server.query(db, 'drop schema public cascade; create schema public');
      await server.checkpoint();
    };
    const samples = { statusOne: [], statusFleet: [], floorOne: [], floorFleet: [], oldStatusOne: [], oldStatusFleet: [], upgradeP1: [], upgradeP8: [], upgradeSequential: [] };
    // The floor under W7a: postgres.js alone connecting and running select 1, on one database and on all 50
    const floor = (args) => measure(process.execPath, [join(ROOT, 'bench/connect-floor.cjs'), ...args], { env, cwd: project, scratch });
    log(`${server.display}, PostgreSQL ${server.version}: ${DATABASES} databases, ${MIGRATIONS} migrations, ${RUNS} runs`);
    // W7a: status of a fleet at head (as W2 is of a database with all applied), on a server at rest: the upgrade
    // that brings it there is not timed, and its aftermath (autovacuum visiting 50 databases' catalogs, dirty
    // pages) is dealt with first, so that neither status pays for it.
    await dbvc(['upgrade', '--db', 'w', '--parallel', '8']);
    for (const db of databases) await server.query(db, 'vacuum analyze');
    await server.checkpoint();
    for (let run = 0; run < RUNS; run++) {
      const statusPair = [() => dbvc(single).then((s) => samples.statusOne.push(s)), () => dbvc(['status', '--db', 'w', '--parallel', '8']).then((s) => samples.statusFleet.push(s))];
      statusPair.push(() => floor([server.urlFor(databases[0])]).then((s) => samples.floorOne.push(s)), () => floor(['--file', 'envs/w.urls']).then((s) => samples.floorFleet.push(s)));
      if (OLD_CLI) statusPair.push(() => dbvc(single, OLD_CLI).then((s) => samples.oldStatusOne.push(s)), () => dbvc(['status', '--db', 'w', '--parallel', '8'], OLD_CLI).then((s) => samples.oldStatusFleet.push(s)));
      for (let k = 0; k < statusPair.length; k++) await statusPair[(k + run) % statusPair.length]();
    }
    for (let run = 0; run < RUNS && !STATUS_ONLY; run++) {
      const upgrades = [
        async () => samples.upgradeP1.push(await dbvc(['upgrade', '--db', 'w', '--parallel', '1'])),
        async () => samples.upgradeP8.push(await dbvc(['upgrade', '--db', 'w', '--parallel', '8'])),
        async () => samples.upgradeSequential.push(await sequential(databases, server, dbvc)),
      ];
      for (let k = 0; k < upgrades.length; k++) {
        await reset();
        await upgrades[(k + run) % upgrades.length]();
      }
      log(`run ${run + 1} done`);
    }
    if (STATUS_ONLY) await reportStatus(samples);
    else await report(samples, server);
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** 50 `dbvc upgrade` processes one after the other, as a deploy script without fleets would: one sample, summed. */
async function sequential(databases, server, dbvc) {
  let ms = 0;
  let peakKB = null;
  for (const db of databases) {
    const sample = await dbvc(['upgrade', '--url', server.urlFor(db), '--dir', 'sql/w']);
    ms += sample.ms;
    peakKB = Math.max(peakKB ?? 0, sample.peakKB ?? 0) || null;
  }
  return { ms, peakKB };
}

function reportStatus(samples) {
  const line = (label, ones, fleets) => {
    const one = summarize(ones).medianMs;
    const fleet = summarize(fleets).medianMs;
    const ratios = fleets.map((s, i) => s.ms / ones[i].ms).sort((a, b) => a - b);
    process.stdout.write(`${label}status, 1 database ${one.toFixed(0)} ms; ${DATABASES} databases (--parallel 8) ${fleet.toFixed(0)} ms: ${(fleet / one).toFixed(2)}x, median of per-run ratios ${median(ratios).toFixed(2)}x (${ratios.map((r) => r.toFixed(2)).join(' ')})\n`);
  };
  line(OLD_CLI ? 'new: ' : '', samples.statusOne, samples.statusFleet);
  line('postgres.js connect alone: ', samples.floorOne, samples.floorFleet);
  if (OLD_CLI) line('old: ', samples.oldStatusOne, samples.oldStatusFleet);
  process.stdout.write(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
}

async function report(samples, server) {
  const s = Object.fromEntries(Object.entries(samples).map(([key, list]) => [key, summarize(list)]));
  const ms = (key) => Math.round(s[key].medianMs);
  const statusRatio = s.statusFleet.medianMs / s.statusOne.medianMs;
  const throughput = s.upgradeSequential.medianMs / s.upgradeP8.medianMs;
  const rows = [
    ['W7a', `status, 1 database (one process)`, ms('statusOne')],
    ['W7a', `status, ${DATABASES} databases (--parallel 8)`, ms('statusFleet')],
    ['W7a floor', `postgres.js alone: connect and select 1, 1 database`, ms('floorOne')],
    ['W7a floor', `the same, ${DATABASES} databases, 8 at a time`, ms('floorFleet')],
    ['W7b', `upgrade ${MIGRATIONS} migrations x ${DATABASES} databases, --parallel 1`, ms('upgradeP1')],
    ['W7b', `the same, --parallel 8`, ms('upgradeP8')],
    ['W7b', `the same as ${DATABASES} sequential dbvc processes`, ms('upgradeSequential')],
  ];
  const markdown = [
    `# dbvc fleet benchmark (W7)`,
    '',
    `${new Date().toISOString()} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'} · Node ${process.version} · PostgreSQL ${server.version} (${maskUrl(server.display)}) · median of ${RUNS} run(s), whole processes, order alternating`,
    '',
    '| workload | what | median ms |',
    '| --- | --- | ---: |',
    ...rows.map(([id, what, value]) => `| ${id} | ${what} | ${value} |`),
    '',
    `- ${statusRatio <= 3 ? 'met' : '**MISSED**'}: fleet status of ${DATABASES} databases is ${statusRatio.toFixed(2)}x one database's status (goal ≤ 3x)`,
    `- the floor: postgres.js alone takes ${(s.floorFleet.medianMs / s.floorOne.medianMs).toFixed(2)}x as long for ${DATABASES} databases as for one (each needs a backend of its own)`,
    `- ${throughput >= 1.5 ? 'met' : '**MISSED**'}: fleet upgrade at --parallel 8 has ${throughput.toFixed(2)}x the throughput of ${DATABASES} sequential processes (goal ≥ 1.5x); --parallel 1 ${(s.upgradeSequential.medianMs / s.upgradeP1.medianMs).toFixed(2)}x`,
    '',
  ].join('\n');
  const out = join(ROOT, 'bench/out');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'fleet.md'), markdown);
  await writeFile(join(out, 'fleet.json'), JSON.stringify({ databases: DATABASES, migrations: MIGRATIONS, runs: RUNS, figures: s, statusRatio, throughput }, null, 2) + '\n');
  process.stdout.write(markdown);
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exitCode = 1;
});
