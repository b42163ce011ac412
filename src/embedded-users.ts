// Which dbvc processes use an embedded cluster, and the lock that makes starting, joining and stopping it one step
// at a time: two commands at once share the server, and the last one to leave stops it (issue 12, item 6).
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

const LOCK_PATIENCE_MS = 60_000; // initdb and a start take a few seconds at most; a stop waits up to 14 s
const usesHere = new Map<string, number>(); // cluster folder -> how many servers this process holds there

/**
 * Runs `work` while holding <dir>/cluster.lock, a file created exclusively and holding our pid. A lock whose pid
 * is dead (a dbvc killed mid-start) is taken over. Throws after a minute of waiting for a live holder.
 */
export async function withClusterLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, 'cluster.lock');
  const deadline = Date.now() + LOCK_PATIENCE_MS;
  for (;;) {
    try {
      await fs.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLockHolder(lock);
    if (holder === 'stale') continue;
    if (Date.now() > deadline) throw new Error(`${lock} has been held by process ${holder} for a minute; if no dbvc runs, delete it`);
    await sleep(20);
  }
  try {
    return await work();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/** The live pid holding the lock, or 'stale' once a dead holder's lock was removed. */
async function readLockHolder(lock: string): Promise<number | 'stale'> {
  const before = await fs.stat(lock).catch(() => undefined);
  if (!before) return 'stale';
  const pid = Number.parseInt(await fs.readFile(lock, 'utf8').catch(() => ''), 10);
  const isFresh = Date.now() - before.mtimeMs < 2000; // an empty file: its writer may still be writing the pid
  if (Number.isInteger(pid) && pid > 0 ? isAlive(pid) : isFresh) return pid;
  // remove only the file we read, not one a faster process created since
  const now = await fs.stat(lock).catch(() => undefined);
  if (now && now.ino === before.ino) await fs.rm(lock, { force: true });
  return 'stale';
}

/** Registers this process as a user of the cluster in dir (call while holding the cluster lock). */
export async function addUser(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'users'), { recursive: true });
  await fs.writeFile(path.join(dir, 'users', String(process.pid)), '');
  usesHere.set(dir, (usesHere.get(dir) ?? 0) + 1);
}

/** Drops one registration of this process (call while holding the cluster lock). */
export async function removeUser(dir: string): Promise<void> {
  const left = (usesHere.get(dir) ?? 1) - 1;
  if (left > 0) return void usesHere.set(dir, left);
  usesHere.delete(dir);
  await fs.rm(path.join(dir, 'users', String(process.pid)), { force: true });
}

/**
 * The live users of the cluster in dir and the dead ones, whose files are removed. A file with our own pid that
 * this process did not write is left from a dead process that had the same pid (containers reuse pids).
 */
export async function listUsers(dir: string): Promise<{ live: number[]; dead: number[] }> {
  const names = await fs.readdir(path.join(dir, 'users')).catch(() => [] as string[]);
  const live: number[] = [];
  const dead: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    const isOurs = pid === process.pid && usesHere.has(dir);
    if (pid > 0 && pid !== process.pid ? isAlive(pid) : isOurs) {
      live.push(pid);
      continue;
    }
    dead.push(pid);
    await fs.rm(path.join(dir, 'users', name), { force: true });
  }
  return { live, dead };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

// A server whose parent died waits for init to reap it, and some container inits never do.
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
