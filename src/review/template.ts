// Builds a scratch template: a database holding what the migrations before a review leave, run from base.
import { randomBytes } from 'node:crypto';
import type { Connection } from '../connect.js';
import { DbvcError } from '../core/errors.js';
import { endsOpen, scanSql } from '../core/lexer.js';
import type { Migration } from '../core/plan.js';
import { literal } from '../core/render.js';
import type { Db } from '../store.js';

// Transactional migrations go to the server many at a time, each in its own BEGIN ... COMMIT within one simple
// query (as the runner sends one): a thousand small files cost one round trip per batch, not three each.
const BATCH_CHARS = 256 * 1024;

/**
 * Creates `template` from base by running `earlier` under a name of its own, renamed when complete, so a template
 * that exists is always whole. Throws a 'sql' DbvcError naming the migration that failed.
 */
export async function buildTemplate(admin: Db, open: (database: string) => Promise<Connection>, earlier: Migration[], template: string): Promise<void> {
  const building = `dbvc_scratch_build_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`create database ${building} template template0`);
  try {
    const connection = await open(building);
    try {
      await applyEarlier(connection.db, earlier);
    } finally {
      await connection.close();
    }
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

async function applyEarlier(db: Db, earlier: Migration[]): Promise<void> {
  await db.unsafe('create temporary table dbvc_built (version text)'); // what committed, should a batch fail
  let batch: Migration[] = [];
  let size = 0;
  for (const migration of earlier) {
    if (migration.up.noTransaction) {
      await applyBatch(db, batch);
      [batch, size] = [[], 0];
      await applyStatements(db, migration);
      continue;
    }
    batch.push(migration);
    size += migration.up.text.length;
    if (size < BATCH_CHARS) continue;
    await applyBatch(db, batch);
    [batch, size] = [[], 0];
  }
  await applyBatch(db, batch);
}

async function applyBatch(db: Db, batch: Migration[]): Promise<void> {
  if (batch.length === 0) return;
  const text = batch.map((m) => {
    const body = endsOpen(m.up.text) ? `${m.up.text}\n;` : m.up.text;
    return `BEGIN;\n${body}\nINSERT INTO pg_temp.dbvc_built VALUES (${literal(m.version)});\nCOMMIT;`;
  }).join('\n');
  try {
    await db.unsafe(text);
  } catch (error) {
    await db.unsafe('rollback').catch(() => undefined);
    const built = new Set((await db.unsafe('select version from pg_temp.dbvc_built')).map((r) => r.version as string));
    throw failure(batch.find((m) => !built.has(m.version)) ?? batch[0], error);
  }
}

async function applyStatements(db: Db, migration: Migration): Promise<void> {
  try {
    for (const s of scanSql(migration.up.text).statements) {
      if (s.words.length > 0) await db.unsafe(migration.up.text.slice(s.start, s.end));
    }
  } catch (error) {
    throw failure(migration, error);
  }
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
