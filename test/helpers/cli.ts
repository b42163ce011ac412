// Spawning the built CLI (dist/dbvc.cjs) in black-box tests: exit code, stdout and stderr. Build first: make build.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFixture, ROOT } from './db.js';

export const CLI = join(ROOT, 'dist/dbvc.cjs');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>; // added to the environment (which has NO_COLOR and no DATABASE_URL)
  timeoutMs?: number; // the child is killed after this; the test then fails on its exit code
}

export interface Running {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  done: Promise<Result>;
}

export function start(args: string[], options: RunOptions = {}): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
  if (!options.env?.DATABASE_URL) delete env.DATABASE_URL;
  delete env.FORCE_COLOR; // uvu sets it for itself; node would warn that it overrides NO_COLOR
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const done = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, output: () => ({ stdout, stderr }), done };
}

export function run(args: string[], options: RunOptions = {}): Promise<Result> {
  return start(args, options).done;
}

/** Lines of a stream, without the final empty one. */
export function lines(text: string): string[] {
  return text.split('\n').slice(0, text.endsWith('\n') ? -1 : undefined);
}

const temps: string[] = [];

/** A temp copy of a fixture (or an empty temp dir), removed after the suite. */
export async function tempDir(fixtureName?: string): Promise<string> {
  const dir = fixtureName ? await copyFixture(fixtureName) : await mkdtemp(join(tmpdir(), 'dbvc-cli-'));
  temps.push(dir);
  return dir;
}

export async function removeTemps(): Promise<void> {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
