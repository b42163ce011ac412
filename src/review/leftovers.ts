// Scratch databases that a killed run left behind: a working copy, or a template's build. Their names carry the
// server's time at creation, so the next run on the same server can tell them from those of runs still going: one
// an hour old that nobody is connected to is dropped. Templates and spares are kept or pruned by template.ts.
import { randomBytes } from 'node:crypto';
import type { Db } from '../store.js';

export const LEFTOVER_AGE_MS = 60 * 60 * 1000;

const NAMED = /^dbvc_scratch_(?:build_)?([0-9a-z]{9})_[0-9a-f]{12}$/;

/** dbvc_scratch_[build_]<the server's time in ms, in base 36>_<12 hex digits>. */
export function scratchName(kind: 'copy' | 'build', serverNowMs: number): string {
  const time = Math.floor(serverNowMs).toString(36).padStart(9, '0');
  return `dbvc_scratch_${kind === 'build' ? 'build_' : ''}${time}_${randomBytes(6).toString('hex')}`;
}

/** When a scratch copy or build was named (the server's time, ms); undefined for every other name. */
export function namedAt(name: string): number | undefined {
  const match = NAMED.exec(name);
  return match ? parseInt(match[1], 36) : undefined;
}

/**
 * Drops the copies and builds older than `olderThanMs` by the server's clock that no session is on, and returns
 * their names. Without FORCE: one that a session joins meanwhile, or that another role owns, stays.
 */
export async function dropLeftovers(admin: Db, olderThanMs = LEFTOVER_AGE_MS): Promise<string[]> {
  const rows = await admin`
    select d.datname, (extract(epoch from clock_timestamp()) * 1000)::int8 as now_ms from pg_database d
    where d.datname like 'dbvc\_scratch\_%' and not exists (select from pg_stat_activity a where a.datid = d.oid)`;
  const dropped: string[] = [];
  for (const row of rows) {
    const name = row.datname as string;
    const at = namedAt(name);
    if (at === undefined || Number(row.now_ms) - at < olderThanMs) continue;
    const isDropped = await admin.unsafe(`drop database if exists ${name}`).then(() => true, () => false); // the name is [0-9a-z_]
    if (isDropped) dropped.push(name);
  }
  return dropped;
}
