// dbvc drift: what was changed by hand in a live database, against the schema its recorded revision should have.
import type { Reporter } from '../api.js';
import type { Config } from '../config.js';
import { DbvcError } from '../core/errors.js';
import { locateDatabase, type Migration } from '../core/plan.js';
import type { SchemaChange } from '../core/review.js';
import { compareSnapshots, type Snapshot } from '../core/snapshot.js';
import { loadMigrations } from '../fs.js';
import { readSnapshot } from '../review/snapshot.js';
import { readComments } from './comments.js';
import { readSchema, withScratch, type ScratchUse } from './schema.js';
import { printViewsOn } from './viewdefs.js';

export interface DriftDifference extends SchemaChange {
  message: string;
}

export interface DriftResult {
  revision: string | null; // the revision the database records
  differences: DriftDifference[]; // expected -> live, in compareSnapshots' order
  exitCode: 0 | 3;
}

/**
 * Compares the target's schema with what its recorded revision makes on a scratch database. Read-only on the target:
 * one session, catalog reads and alembic_version, no lock. Throws a 'state' DbvcError when the revision is unknown.
 */
export async function drift(config: Config, options: ScratchUse): Promise<DriftResult> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  const { index, live } = await readTarget(config, migrations, options.report);
  const revision = index < 0 ? null : migrations[index].version;
  const [expected, printed] = await withScratch(config, options, async (scratch) => {
    const head = await scratch.prepare(migrations.slice(0, index + 1));
    try {
      const schema = await readSchema(head, config);
      return [schema, await printViewsOn(head.db, live, schema)] as const;
    } finally {
      await head.drop();
    }
  });
  const at = revision ?? 'base';
  const differences = compareSnapshots(expected, printed).map((change) => ({ ...change, message: explainDrift(change, config.db, at) }));
  return { revision, differences, exitCode: differences.length > 0 ? 3 : 0 };
}

function explainDrift(change: SchemaChange, db: string, at: string): string {
  const what = `${change.kind} ${change.name}`;
  if (change.change === 'added') return `${db} has ${what}, which the migrations up to ${at} do not make`;
  if (change.change === 'removed') return `the migrations up to ${at} make ${what}, which ${db} lacks`;
  return `${what} differs (the migrations up to ${at} -> ${db}: ${change.detail})`;
}

async function readTarget(config: Config, migrations: Migration[], report: Reporter): Promise<{ index: number; live: Snapshot }> {
  const { openConnection } = await import('../connect.js');
  const { readState } = await import('../store.js');
  const onTarget = (server: string) => report.info(`target ${config.db}: ${server} (read-only)`);
  const connection = await openConnection(config, { onNotice: report.notice, onInfo: report.info, onTarget }, 'dbvc drift');
  try {
    const position = locateDatabase(migrations, await readState(connection.db, config.schema), config.migrationsLabel);
    if (position.isLost) {
      throw new DbvcError('state', `dbvc cannot tell which revision ${config.db} is at, so it cannot tell what its schema should be`, {
        lines: position.problems.map((p) => p.message), hint: 'run dbvc status',
      });
    }
    const snapshot = await readSnapshot(connection.db, config.schema);
    return { index: position.index, live: { objects: [...snapshot.objects, ...(await readComments(connection.db))] } };
  } finally {
    await connection.close();
  }
}
