// The check every robust scenario ends with: alembic_version, dbvc_history and the schema agree, and no run is left
// holding the migration lock. Fixtures here create one table m_<version> per migration, so "its objects" is one name.
import { readdir } from 'node:fs/promises';
import type { Db } from '../../src/store.js';

export interface ConsistencyOptions {
  /** the migrations' versions in order (versionsIn(dir) reads them from a folder) */
  versions: string[];
  /** schema of alembic_version and dbvc_history */
  schema?: string;
  /** the relation a version creates; default m_<version> in public */
  objectOf?(version: string): string;
  /** no downgrade happened: every applied version has exactly one 'up' row, the others none */
  isUpOnly?: boolean;
}

export async function versionsIn(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.map((n) => /^(\d+)_\w+\.up\.sql$/.exec(n)?.[1]).filter((v): v is string => v !== undefined)
    .sort((a, b) => Number(BigInt(a) - BigInt(b)));
}

/**
 * Every problem found, as readable lines (an empty list means consistent): alembic_version holds at most one known
 * revision; every migration up to it has its objects and, as its latest up/down/stamp row, one that applied it;
 * none after it has either; the latest move in dbvc_history ends where alembic_version stands.
 */
export async function checkConsistency(db: Db, options: ConsistencyOptions): Promise<string[]> {
  const schema = options.schema ?? 'public';
  const objectOf = options.objectOf ?? ((v: string) => `public.m_${v}`);
  const problems: string[] = [];
  const q = (name: string) => `"${schema.replace(/"/g, '""')}".${name}`;
  const [{ hasVersion, hasHistory }] = await db`
    select to_regclass(${q('alembic_version')}) is not null as "hasVersion", to_regclass(${q('dbvc_history')}) is not null as "hasHistory"`;
  const rows = hasVersion ? (await db`select version_num from ${db(schema)}.alembic_version`).map((r) => r.version_num as string) : [];
  if (rows.length > 1) problems.push(`alembic_version holds ${rows.length} rows: ${rows.join(', ')}`);
  const current = rows[0] ?? null;
  const currentIndex = current === null ? -1 : options.versions.indexOf(current);
  if (current !== null && currentIndex === -1) problems.push(`alembic_version holds ${current}, which no migration has`);
  const history = hasHistory
    ? await db`select id, event, version_num, to_version from ${db(schema)}.dbvc_history where event in ('up', 'down', 'stamp') order by id`
    : [];
  if (!hasHistory && currentIndex >= 0) problems.push('alembic_version is set but dbvc_history does not exist');
  const existing = new Set((await db`
    select v from unnest(${options.versions.map(objectOf)}::text[]) v where to_regclass(v) is not null`).map((r) => r.v as string));
  for (const [index, version] of options.versions.entries()) {
    const isApplied = index <= currentIndex;
    const own = history.filter((r) => r.version_num === version);
    const latest = own[own.length - 1];
    const latestApplies = latest !== undefined && latest.event !== 'down' && latest.to_version === version;
    if (existing.has(objectOf(version)) !== isApplied) {
      problems.push(`${version}: ${objectOf(version)} ${isApplied ? 'is missing' : 'exists'} though alembic_version is ${current ?? 'base'}`);
    }
    if (latestApplies !== isApplied) {
      const what = latest ? `its latest history row is ${latest.event} -> ${latest.to_version ?? 'base'}` : 'it has no history row';
      problems.push(`${version}: ${what} though alembic_version is ${current ?? 'base'}`);
    }
    if (options.isUpOnly) {
      const ups = own.filter((r) => r.event === 'up').length;
      if (ups !== (isApplied ? 1 : 0) || own.length !== ups) problems.push(`${version}: ${ups} up rows and ${own.length - ups} other rows`);
    }
  }
  const last = history[history.length - 1];
  if (last && (last.to_version ?? null) !== current) problems.push(`the latest move in dbvc_history ends at ${last.to_version ?? 'base'}, alembic_version at ${current ?? 'base'}`);
  return problems;
}

/**
 * Waits until no other session in this database holds an advisory lock (a killed client's backend keeps the
 * migration lock until the server notices the closed socket); returns the holders still there after timeoutMs.
 */
export async function waitForNoLocks(db: Db, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await db`
      select a.pid, a.application_name, a.state, l.classid, l.objid
      from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.database = (select oid from pg_database where datname = current_database())
        and l.pid <> pg_backend_pid()`;
    if (left.length === 0) return [];
    if (Date.now() > deadline) return left.map((r) => `pid ${r.pid} (${r.application_name || '?'}, ${r.state}) holds advisory lock ${r.classid}/${r.objid}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Both checks, for the end of a scenario: the problems of checkConsistency plus any lock left behind. */
export async function checkAfterScenario(db: Db, options: ConsistencyOptions, lockWaitMs = 10_000): Promise<string[]> {
  const locks = await waitForNoLocks(db, lockWaitMs);
  return [...locks.map((l) => `left behind: ${l}`), ...(await checkConsistency(db, options))];
}
