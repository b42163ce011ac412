// The bookkeeping tables' DDL and what a step records, shared by the online store and the offline render.
import type { Migration, Step } from './plan.js';

/** Quotes an identifier for SQL text we write ourselves (DDL and offline scripts). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * alembic_version exactly as Alembic creates it, and dbvc_history; idempotent. Without `createSchema` the schema must
 * exist: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema is there.
 */
export function ledgerDdl(schema: string, createSchema = true): string {
  const s = quoteIdent(schema);
  return `${createSchema ? `CREATE SCHEMA IF NOT EXISTS ${s};\n` : ''}CREATE TABLE IF NOT EXISTS ${s}.alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE IF NOT EXISTS ${s}.dbvc_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text NOT NULL,
    event text NOT NULL CHECK (event IN ('up', 'down', 'stamp', 'repair', 'failed', 'adopted')),
    version_num varchar(32),
    name text,
    from_version varchar(32),
    to_version varchar(32),
    up_checksum text,
    down_checksum text,
    up_sql text,
    down_sql text,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    applied_by text NOT NULL DEFAULT current_user,
    client_host text,
    duration_ms integer,
    dbvc_version text,
    failed_statement integer,
    note text
);
ALTER TABLE ${s}.dbvc_history ADD COLUMN IF NOT EXISTS failed_statement integer;
`;
}

/** The columns of a history row that depend only on the step: identical online and offline. */
export interface StepRecord {
  event: 'up' | 'down';
  version: string;
  name: string;
  fromVersion: string | null;
  toVersion: string | null;
  upChecksum: string | null;
  downChecksum: string | null;
  upSql: string | null;
  downSql: string | null;
  note: string | null;
}

export function recordStep(step: Step): StepRecord {
  const { migration } = step;
  const isUp = step.direction === 'up';
  return {
    event: step.direction,
    version: migration.version,
    name: migration.name,
    fromVersion: step.from,
    toVersion: step.to,
    upChecksum: isUp ? migration.up.checksum : null,
    downChecksum: downChecksum(migration),
    upSql: isUp ? migration.up.text : null,
    downSql: isUp ? migration.down?.text ?? null : step.sql,
    note: step.isOutOfOrder ? `applied out of order: the database was at ${step.from}, above it; alembic_version was left there` : null,
  };
}

function downChecksum(migration: Migration): string | null {
  return migration.down?.checksum ?? null;
}
