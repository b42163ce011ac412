// Scratch templates: databases holding what the migrations before a review leave, run from base; built here, marked
// when used, and pruned to the few used last.
import type { Connection } from '../connect.js';
import { DbvcError } from '../core/errors.js';
import { endsOpen, scanSql } from '../core/lexer.js';
import type { Migration } from '../core/plan.js';
import { literal } from '../core/render.js';
import { runCancellable, type Db } from '../store.js';

// Transactional migrations go to the server many at a time, each in its own BEGIN ... COMMIT within one simple
// query (as the runner sends one): a thousand small files cost one round trip per batch, not three each.
const BATCH_CHARS = 256 * 1024;

/**
 * Creates `template` from base by running `earlier` under the name `building` (leftovers.ts), renamed when complete,
 * so a template that exists is always whole. Throws a 'sql' DbvcError naming the migration that failed, or an
 * 'interrupted' one when `signal` aborts (the statement in flight is cancelled, and nothing is kept).
 */
export async function buildTemplate(admin: Db, open: (database: string) => Promise<Connection>, earlier: Migration[], template: string, building: string, signal?: AbortSignal): Promise<void> {
  await admin.unsafe(`create database ${building} template template0`);
  try {
    const connection = await open(building);
    try {
      await applyEarlier(connection.db, earlier, signal);
    } finally {
      await connection.close();
    }
    await markTemplateUsed(admin, building, new Date()); // before its name is a template's: pruning keeps it
    await keepTemplate(admin, building, template);
  } finally {
    await admin.unsafe(`drop database if exists ${building} with (force)`);
  }
}

/**
 * Renames a complete build to the template's name. Another review may have built the same template meanwhile: then
 * theirs is kept and ours dropped by the caller. Two renames at the same moment both pass the server's check that
 * the name is free, and the second then fails on pg_database's unique index (23505) instead of with 42P04.
 */
export async function keepTemplate(admin: Db, building: string, template: string): Promise<void> {
  await admin.unsafe(`alter database ${building} rename to ${template}`).catch((error: { code?: string }) => {
    if (error.code !== '42P04' && error.code !== '23505') throw error;
  });
}

async function applyEarlier(db: Db, earlier: Migration[], signal?: AbortSignal): Promise<void> {
  // Each migration commits on its own, as upgrade commits it; a server with fsync on would flush the WAL at each of
  // those commits (a thousand flushes for a thousand files). Without the wait, a crash loses at most the last ones,
  // and with them the rename that comes after them in the WAL: a template that exists is still whole.
  await db.unsafe('set synchronous_commit = off');
  await db.unsafe('create temporary table dbvc_built (version text)'); // what committed, should a batch fail
  let batch: Migration[] = [];
  let size = 0;
  for (const migration of earlier) {
    if (migration.up.noTransaction) {
      await applyBatch(db, batch, signal);
      [batch, size] = [[], 0];
      await applyStatements(db, migration, signal);
      continue;
    }
    batch.push(migration);
    size += migration.up.text.length;
    if (size < BATCH_CHARS) continue;
    await applyBatch(db, batch, signal);
    [batch, size] = [[], 0];
  }
  await applyBatch(db, batch, signal);
}

async function applyBatch(db: Db, batch: Migration[], signal?: AbortSignal): Promise<void> {
  if (batch.length === 0) return;
  if (signal?.aborted) throw interrupted();
  const text = batch.map((m) => {
    const body = endsOpen(m.up.text) ? `${m.up.text}\n;` : m.up.text;
    return `BEGIN;\n${body}\nINSERT INTO pg_temp.dbvc_built VALUES (${literal(m.version)});\nCOMMIT;`;
  }).join('\n');
  try {
    await runCancellable(db, text, signal);
  } catch (error) {
    await db.unsafe('rollback').catch(() => undefined);
    if (signal?.aborted) throw interrupted();
    const built = new Set((await db.unsafe('select version from pg_temp.dbvc_built')).map((r) => r.version as string));
    throw failure(batch.find((m) => !built.has(m.version)) ?? batch[0], error);
  }
}

async function applyStatements(db: Db, migration: Migration, signal?: AbortSignal): Promise<void> {
  try {
    for (const s of scanSql(migration.up.text).statements) {
      if (signal?.aborted) throw interrupted();
      if (s.words.length > 0) await runCancellable(db, migration.up.text.slice(s.start, s.end), signal);
    }
  } catch (error) {
    throw signal?.aborted ? interrupted() : failure(migration, error);
  }
}

function interrupted(): DbvcError {
  return new DbvcError('interrupted', 'interrupted while building the scratch template (the migrations before the review, run from base)', {
    hint: 'nothing was kept and nothing was written to the target; the next review builds the template again',
  });
}

function failure(migration: Migration, error: unknown): DbvcError {
  const e = error as { code?: string; message?: string };
  return new DbvcError('sql', `${migration.up.path} failed on the scratch database while bringing it to the revision before the review: ${e.message}`, {
    file: migration.up.path,
    lines: e.code ? [`SQLSTATE ${e.code}`] : [],
    hint: `run dbvc review on a range that starts at or before ${migration.version} to see where`,
    cause: error,
  });
}

// Templates kept per server: each is a database as large as the history it holds (40 MB for 1000 tables), and one
// spare copy of it may sit beside it (scratch.ts).
export const KEPT_TEMPLATES = 3;
const USED_NOTE = 'dbvc scratch template, last used ';

// A template instance: the hash of its history (scratch.ts's templateName) and its oid. A spare's name holds the
// instance it was copied from.
function instanceOf(datname: string, oid: number): string {
  const [, kind, hash, from] = /^dbvc_scratch_(tpl|spare)_([0-9a-f]+?)(?:_(\d+)_[0-9a-f]+)?$/.exec(datname) ?? [];
  return kind === 'tpl' ? `${hash} ${oid}` : `${hash} ${from}`;
}

/** dbvc_scratch_spare_<template's hash>_<suffix>: a copy of `template` made ahead (see scratch.ts). */
export function spareName(template: string, suffix: string): string {
  return `${template.replace(/^dbvc_scratch_tpl_/, 'dbvc_scratch_spare_')}_${suffix}`;
}

/**
 * Notes on `template` (its comment) that it was used now, so pruning keeps it. Best effort: a comment waits for a
 * CREATE DATABASE copying from the template, so it gives up after a moment, as it does without ownership. In a
 * transaction of postgres.js's own, so the rollback comes before whatever else is queued on the session.
 */
export async function markTemplateUsed(admin: Db, template: string, now: Date): Promise<void> {
  const comment = `comment on database ${template} is ${literal(USED_NOTE + now.toISOString())}`;
  await admin.begin(async (tx) => {
    await tx.unsafe(`set local lock_timeout = '100ms'`);
    await tx.unsafe(comment);
  }).catch(() => undefined);
}

/**
 * Drops the dbvc_scratch_tpl_* databases beyond the `keep` used last (by the note markTemplateUsed leaves; a
 * template without one counts as the oldest), and every spare not copied from a kept one. Touches no other name.
 * A database someone is connected to is left for a later prune.
 */
export async function pruneTemplates(admin: Db, keep = KEPT_TEMPLATES): Promise<string[]> {
  const rows = await admin`
    select datname, oid::int8 as oid, coalesce(shobj_description(oid, 'pg_database'), '') as note from pg_database
    where datname ~ '^dbvc_scratch_(tpl|spare)_' order by oid desc`;
  const lastUsed = (note: string) => (note.startsWith(USED_NOTE) ? note.slice(USED_NOTE.length) : '');
  const templates = rows.filter((r) => r.datname.startsWith('dbvc_scratch_tpl_'))
    .sort((a, b) => (lastUsed(a.note) < lastUsed(b.note) ? 1 : lastUsed(a.note) > lastUsed(b.note) ? -1 : 0)); // stable: on a tie the newer
  const kept = new Set(templates.slice(0, keep).map((r) => instanceOf(r.datname, Number(r.oid))));
  const doomed = rows.filter((r) => !kept.has(instanceOf(r.datname, Number(r.oid)))).map((r) => r.datname as string);
  const dropped: string[] = [];
  for (const name of doomed) {
    try {
      await admin.unsafe(`drop database if exists ${name}`);
      dropped.push(name);
    } catch (error) {
      if ((error as { code?: string }).code !== '55006') throw error; // in use: a later prune drops it
    }
  }
  return dropped;
}
