#!/usr/bin/env node
// `make bench`, issue 17: what writing the review page adds to a review of 20 migrations. The page's modules are
// bundled with esbuild as the command is (Makefile), and each run is a fresh Node process that loads the bundle
// (highlight.js in it), renders and writes the file, as `dbvc review --html` will; the figures are that
// process's own timings, so Node's start-up is not counted.
// Usage: node bench/page.mjs [--runs 9] [--out bench/out]
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { twentyMigrationReport, workloadReport } from './page-report.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const BUDGET_MS = 100;
const LIMIT_BYTES = 1024 * 1024;
const WORKLOADS = {
  workload: { title: "the bench workload's files (what W6 reviews), 20 migrations", report: workloadReport },
  'upper-bound': { title: 'upper bound: 20 migrations of 30 statements per file, every statement marked', report: twentyMigrationReport },
};

// One cold run: load, then the first render and write (the one a review pays for), then a warm render.
async function child(bundle, dir, workload) {
  const report = WORKLOADS[workload].report();
  const began = performance.now();
  const { renderReviewPage, writeReviewPage } = require(bundle);
  const loaded = performance.now();
  const file = await writeReviewPage(report, `${dir}/`);
  const written = performance.now();
  renderReviewPage(report);
  const warm = performance.now() - written;
  const { size } = await stat(file);
  process.stdout.write(JSON.stringify({ loadMs: loaded - began, writeMs: written - loaded, addedMs: written - began, warmRenderMs: warm, bytes: size }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' }, out: { type: 'string', default: join(ROOT, 'bench/out') }, child: { type: 'string' }, bundle: { type: 'string' }, workload: { type: 'string' } } });
  if (values.child) return child(values.bundle, values.child, values.workload);
  const runs = Number(values.runs);
  if (!(runs >= 1)) throw new Error('usage: node bench/page.mjs [--runs 9] [--out DIR]');
  const scratch = await mkdtemp(join(tmpdir(), 'dbvc-bench-page-'));
  const samples = Object.fromEntries(Object.keys(WORKLOADS).map((name) => [name, []]));
  try {
    const bundle = bundlePage(scratch);
    for (let i = 0; i < runs; i++) {
      for (const name of Object.keys(WORKLOADS)) samples[name].push(runChild(bundle, join(scratch, `${name}-${i}`), name));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const lines = [`# Review page (issue 17): ${runs} fresh processes per workload, medians; the page bundled as the command is`, ''];
  for (const [name, { title }] of Object.entries(WORKLOADS)) lines.push(...describe(title, samples[name]));
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'page.md'), lines.join('\n'));
  process.stdout.write(lines.join('\n'));
}

// The flags of the Makefile's ESBUILD, so the figures are those of the command's own bundle.
function bundlePage(scratch) {
  const outfile = join(scratch, 'page.cjs');
  const { buildSync } = require('esbuild');
  buildSync({
    stdin: { contents: "export * from './src/review/page.ts'; export * from './src/review/page-file.ts';", resolveDir: ROOT, loader: 'ts' },
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', outfile,
  });
  return outfile;
}

// Alternating the workloads run by run spreads the machine's drift over both (shared/FACTS.md).
function runChild(bundle, dir, workload) {
  const args = [fileURLToPath(import.meta.url), '--child', dir, '--bundle', bundle, '--workload', workload];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
}

function describe(title, samples) {
  const figure = (key) => median(samples.map((s) => s[key]));
  const added = figure('addedMs');
  const bytes = samples[0].bytes;
  return [
    `## ${title}`,
    '',
    '| step | ms |',
    '| --- | ---: |',
    `| load the page's bundle (highlight.js in it) | ${figure('loadMs').toFixed(1)} |`,
    `| first render and atomic write | ${figure('writeMs').toFixed(1)} |`,
    `| **added to a review** | **${added.toFixed(1)}** |`,
    `| a second render, warm | ${figure('warmRenderMs').toFixed(1)} |`,
    '',
    `- ${added <= BUDGET_MS ? 'met' : '**MISSED**'}: writing the page adds ${added.toFixed(0)} ms (goal ≤ ${BUDGET_MS} ms)`,
    `- ${bytes < LIMIT_BYTES ? 'met' : '**MISSED**'}: the file is ${(bytes / 1024).toFixed(0)} kB (goal < 1 MB)`,
    '',
  ];
}

main().catch((error) => {
  process.stderr.write(`[bench page] failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
