// A throwaway fleet: databases on the test server, and a project folder whose targets list them in URL files.
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, fixture, type TestDatabase } from './db.js';

export interface TestFleet {
  root: string; // the project folder: sql/<target>/, envs/<target>.env, envs/<target>.urls
  targets: { name: string; databases: TestDatabase[] }[];
  all: TestDatabase[];
  reset(): Promise<void>; // every database back to empty (no tables)
  drop(): Promise<void>;
}

/**
 * `sizes` databases per target (e.g. { alpha: 12, beta: 8 }), each target's migrations a copy of `migrations`,
 * its env file naming its URL list. `urlOf` may dress the URLs (with a password, say).
 */
export async function createFleet(sizes: Record<string, number>, migrations = fixture('fleet'), urlOf = (url: string) => url): Promise<TestFleet> {
  const root = await mkdtemp(join(tmpdir(), 'dbvc-fleet-'));
  await mkdir(join(root, 'envs'));
  const targets: TestFleet['targets'] = [];
  for (const [name, size] of Object.entries(sizes)) {
    const databases: TestDatabase[] = [];
    for (let i = 0; i < size; i += 4) databases.push(...await Promise.all(Array.from({ length: Math.min(4, size - i) }, createDatabase)));
    await cp(migrations, join(root, 'sql', name), { recursive: true });
    await writeFile(join(root, 'envs', `${name}.urls`), `# ${name}: one database per line\n\n${databases.map((d) => urlOf(d.url)).join('\n')}\n`);
    await writeFile(join(root, 'envs', `${name}.env`), `DBVC_URLS_FILE=envs/${name}.urls\n`);
    targets.push({ name, databases });
  }
  const all = targets.flatMap((t) => t.databases);
  return {
    root, targets, all,
    async reset() {
      await Promise.all(all.map((d) => d.db.unsafe('drop schema public cascade; create schema public')));
    },
    async drop() {
      for (let i = 0; i < all.length; i += 4) await Promise.all(all.slice(i, i + 4).map((d) => d.drop()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
