// Times one whole process (spawn to exit, wall clock) and reads its peak resident memory; plus the statistics.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const TIME = '/usr/bin/time';
// Without GNU time, node children report their own peak through a preload (psql then goes unmeasured).
const MAXRSS_PRELOAD = 'data:text/javascript,' + encodeURIComponent(
  "import { writeFileSync } from 'node:fs';" +
  "process.on('exit', () => writeFileSync(process.env.BENCH_MAXRSS_FILE, String(process.resourceUsage().maxRSS)));");

export const memorySource = existsSync(TIME) ? `${TIME} -f %M` : 'process.resourceUsage().maxRSS (node only)';

let counter = 0;

/**
 * Runs command with args; stdout goes to /dev/null, stderr to a file read back only on failure.
 * Resolves { ms, peakKB, code, stderr } (peakKB null when unknown); never rejects on a non-zero exit.
 */
export async function measure(command, args, { env, cwd, scratch }) {
  const id = `${process.pid}-${++counter}`;
  const memFile = join(scratch, `mem-${id}`);
  const errFile = join(scratch, `err-${id}`);
  const isNode = command === process.execPath;
  let file = command;
  let argv = args;
  let childEnv = env;
  if (existsSync(TIME)) {
    file = TIME;
    argv = ['-f', '%M', '-o', memFile, command, ...args];
  } else if (isNode) {
    argv = ['--import', MAXRSS_PRELOAD, ...args];
    childEnv = { ...env, BENCH_MAXRSS_FILE: memFile };
  }
  const errFd = openSync(errFile, 'w');
  let started;
  const code = await new Promise((resolve, reject) => {
    started = performance.now();
    const child = spawn(file, argv, { env: childEnv, cwd, stdio: ['ignore', 'ignore', errFd] });
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  }).finally(() => closeSync(errFd));
  const ms = performance.now() - started;
  const stderr = readFileSync(errFile, 'utf8');
  rmSync(errFile, { force: true });
  return { ms, peakKB: readPeak(memFile), code, stderr: code === 0 ? '' : stderr };
}

function readPeak(memFile) {
  if (!existsSync(memFile)) return null;
  // GNU time writes "Command exited with non-zero status N" before the figure on failures.
  const lines = readFileSync(memFile, 'utf8').trim().split('\n');
  rmSync(memFile, { force: true });
  const kb = Number(lines[lines.length - 1]);
  return Number.isFinite(kb) && kb > 0 ? kb : null;
}

export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** median, min and max of the times; peak memory is the largest seen. */
export function summarize(samples) {
  const times = samples.map((s) => s.ms);
  const peaks = samples.map((s) => s.peakKB).filter((kb) => kb !== null);
  return {
    runs: samples.length,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    peakMB: peaks.length ? Math.max(...peaks) / 1024 : null,
    samplesMs: times.map((t) => Math.round(t * 10) / 10),
  };
}
