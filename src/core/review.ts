// The data `dbvc review` produces (issue 14's JSON contract): the terminal, --sql annotations and the HTML page
// are renderings of it. Field names are the JSON's; more fields may be added, none renamed.

export type Severity = 'error' | 'warning' | 'note';

export interface ReviewReport {
  range: { from: string | null; to: string | null };
  target?: string; // the --db name, when there is one
  scratch: { server_version: string; embedded: boolean; warm?: boolean }; // warm: started from a kept template
  verdict: 'ok' | 'findings' | 'failed';
  made_at?: string; // ISO time the review ran (the JSON may carry it; offline renderings stay deterministic without it)
  git_commit?: string | null; // HEAD when the project is a git checkout
  migrations: MigrationReview[];
}

export interface MigrationReview {
  version: string;
  name: string;
  file: string; // the up file, as shown (relative to the project)
  transaction: boolean; // false for -- dbvc:no-transaction
  up: RunTrace;
  changes: SchemaChange[];
  down: DownTrace;
  reapply: { ok: boolean; error: ReviewError | null; skipped?: string };
  findings: Finding[];
  skipped?: string; // why this migration was not rehearsed (an earlier one failed and left the scratch state unknown)
  up_sql?: string; // the file texts, for renderings that show the code (the page)
  down_sql?: string | null;
}

export interface RunTrace {
  ok: boolean;
  error: ReviewError | null;
  statements: TracedStatement[];
  skipped?: string; // why it did not run (no down file, the up failed): ok is then false and error null
}

export interface DownTrace extends RunTrace {
  file: string | null; // null: the migration has no down file
  reverts: boolean | null; // null when it could not be checked (no down, or the up failed)
  differences: SchemaChange[];
}

export interface TracedStatement {
  line: number; // 1-based, in the file
  sql: string;
  ms: number;
  locks: { relation: string; mode: string }[]; // pg_locks mode names, schema-qualified user relations
  rewrites: string[]; // schema-qualified relations whose relfilenode changed
  // false when the statement ran outside any transaction block (VACUUM, ...) and could not be made to wait for a
  // second session, so its locks ended unseen: `locks` is then empty without meaning "none". Absent when read.
  locks_observed?: false;
}

export interface SchemaChange {
  change: 'added' | 'changed' | 'removed';
  kind: string; // schema, table, column, constraint, index, sequence, enum, domain, view, function, trigger, policy, extension, ...
  name: string; // schema-qualified
  detail: string;
}

export interface ReviewError {
  file: string;
  line: number | null;
  sqlstate: string | null;
  message: string;
}

export interface Finding {
  rule: string;
  source: 'squawk' | 'dbvc';
  severity: Severity;
  file: string;
  line: number;
  column: number;
  message: string;
  help: string;
}
