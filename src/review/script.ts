// The offline script of a reviewed range (what upgrade --sql renders), each statement annotated with what review found.
import type { Config } from '../config.js';
import { annotateSql } from '../core/annotate.js';
import { planUpgrade } from '../core/plan.js';
import { offlinePosition, renderFiles, type RenderedFile } from '../core/render.js';
import type { ReviewReport } from '../core/review.js';
import { loadMigrations } from '../fs.js';
import { VERSION } from '../version.js';

/**
 * The script `dbvc upgrade FROM:TO --sql` renders for the report's range, with SQL comments before each statement
 * of each up file. Comments only: the history rows record the files as written, so psql leaves the database
 * exactly as the online upgrade would.
 */
export async function renderReviewScript(config: Config, report: ReviewReport): Promise<RenderedFile[]> {
  const migrations = await loadMigrations(config.migrationsDir, config.migrationsLabel);
  const indexOf = (version: string | null) => (version === null ? -1 : migrations.findIndex((m) => m.version === version));
  const fromIndex = indexOf(report.range.from);
  const plan = planUpgrade(migrations, offlinePosition(migrations, fromIndex), indexOf(report.range.to));
  const reviews = new Map(report.migrations.map((m) => [m.version, m]));
  plan.steps = plan.steps.map((step) => {
    const review = reviews.get(step.migration.version);
    if (!review) return step;
    return { ...step, sql: annotateSql(step.sql, review.up, review.findings.filter((f) => f.file === review.file)) };
  });
  return renderFiles(plan, { target: config.db, folder: config.migrationsLabel, schema: config.schema, dbvcVersion: VERSION, lockTimeoutMs: config.ddlLockTimeoutMs });
}

