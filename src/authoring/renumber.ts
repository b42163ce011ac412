// dbvc renumber: moves a migration pair that never ran to the next free number (the way out of "out of order").
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { DbvcError } from '../core/errors.js';
import { quoteIdent } from '../core/ledger.js';
import { resolveRevision, type Migration } from '../core/plan.js';
import { loadMigrations } from '../fs.js';
import { withLockedSession, type SessionOptions } from '../session.js';
import { readState, schemaName } from '../store.js';

export interface Renumbered {
  from: string;
  to: string;
  files: { was: string; now: string }[];
}

/**
 * Renames REV's up and down files to the number above head, keeping the name and the text. Refuses, renaming
 * nothing, when the target database records REV as applied, or holds or records the new id anywhere (history rows,
 * alembic_version): the renamed file must be as new to the database as its number says.
 */
export async function renumber(config: Config, spec: string, options: SessionOptions): Promise<Renumbered> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  const index = resolveRevision(spec, migrations, -1);
  if (index < 0) throw new DbvcError('usage', `renumber needs a migration, not ${spec}`, { hint: 'name it by id, number or stem, for example dbvc renumber 0005' });
  const migration = migrations[index];
  const last = migrations[migrations.length - 1];
  if (migration === last) throw new DbvcError('usage', `${migration.up.path} is already the highest number`, { hint: 'nothing to renumber' });
  const version = String(last.number + 1n).padStart(Math.max(4, migration.version.length), '0');
  const renames = pairNames(migration, version, config);
  await withLockedSession(config, options, 'dbvc renumber', async (db) => {
    const state = await readState(db, config.schema);
    if (state.recorded.has(migration.version)) {
      throw new DbvcError('state', `${migration.up.path} was applied to ${config.db}: renumbering it would make it pending again`, {
        file: migration.up.path, hint: 'leave an applied migration as it is; write a new migration for a further change',
      });
    }
    const uses = state.versions.includes(version) ? ['alembic_version holds it'] : await findHistoryUses(db, config.schema, version);
    if (uses.length > 0) {
      throw new DbvcError('state', `cannot renumber ${migration.stem} to ${version}: ${config.db} already knows revision ${version} (${uses.join('; ')})`, {
        hint: 'another branch applied a migration with that number: merge it first, then renumber above its head',
      });
    }
  });
  await renamePair(renames);
  return { from: migration.version, to: version, files: renames.map((r) => ({ was: r.wasLabel, now: r.nowLabel })) };
}

interface Rename { was: string; now: string; wasLabel: string; nowLabel: string }

function pairNames(migration: Migration, version: string, config: Config): Rename[] {
  const stem = `${version}_${migration.name}`;
  const kinds = migration.down ? ['up', 'down'] : ['up'];
  return kinds.map((kind) => {
    const wasName = `${migration.stem}.${kind}.sql`;
    const nowName = `${stem}.${kind}.sql`;
    return {
      was: join(config.migrationsDir, wasName), now: join(config.migrationsDir, nowName),
      wasLabel: `${config.migrationsLabel}/${wasName}`, nowLabel: `${config.migrationsLabel}/${nowName}`,
    };
  });
}

async function findHistoryUses(db: Parameters<typeof readState>[0], schema: string, version: string): Promise<string[]> {
  const [{ exists }] = await db`select to_regclass(${quoteIdent(schema) + '.dbvc_history'}) is not null as exists`;
  if (!exists) return [];
  const [row] = await db`
    select count(*)::int as rows, min(applied_at) as first from ${schemaName(db, schema)}.dbvc_history
    where version_num = ${version} or from_version = ${version} or to_version = ${version}`;
  return row.rows > 0 ? [`${row.rows} dbvc_history row${row.rows === 1 ? '' : 's'} since ${new Date(row.first).toISOString()}`] : [];
}

/** Both files or neither: a failed second rename puts the first back. */
async function renamePair(renames: Rename[]): Promise<void> {
  const done: Rename[] = [];
  try {
    for (const r of renames) {
      await rename(r.was, r.now);
      done.push(r);
    }
  } catch (error) {
    for (const r of done.reverse()) await rename(r.now, r.was).catch(() => undefined);
    throw error;
  }
}
