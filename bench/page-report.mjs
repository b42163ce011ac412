// Review reports of 20 migrations for the page's size and time (issue 17), shared by bench/page.mjs and the
// page tests: the files of the bench's own workload, and an upper bound.
import { downSql, upSql } from './workload.mjs';

const SCRATCH = { server_version: '17.10', embedded: true };

function statement(line, sql, mode, relation) {
  return { line, sql, ms: 1.25, locks: [{ relation, mode }], rewrites: [] };
}

function widenTable(i) {
  const version = String(i + 10).padStart(4, '0');
  const name = `widen_t${i}`;
  const file = `sql/shop/${version}_${name}.up.sql`;
  const columns = Array.from({ length: 30 }, (_, n) => n);
  const up = columns.map((n) => `ALTER TABLE t${i} ADD COLUMN c${n} text DEFAULT 'x${n}'; -- column ${n}`);
  const down = columns.map((n) => `ALTER TABLE t${i} DROP COLUMN c${n};`);
  return {
    version, name, file, transaction: true,
    up: { ok: true, error: null, statements: up.map((sql, n) => statement(n + 1, sql.replace(/;.*$/, ''), 'AccessExclusiveLock', `public.t${i}`)) },
    changes: columns.map((n) => ({ change: 'added', kind: 'column', name: `public.t${i}.c${n}`, detail: "text default 'x'" })),
    down: {
      file: `sql/shop/${version}_${name}.down.sql`, ok: true, reverts: true, differences: [], error: null,
      statements: down.map((sql, n) => statement(n + 1, sql.slice(0, -1), 'AccessExclusiveLock', `public.t${i}`)),
    },
    reapply: { ok: true, error: null },
    findings: [{ rule: 'adding-field-with-default', source: 'squawk', severity: 'warning', file, line: 3, column: 1,
      message: 'Adding a field with a default can rewrite the table.', help: 'Add the column without a default, then set it.' }],
    up_sql: up.join('\n') + '\n',
    down_sql: down.join('\n') + '\n',
  };
}

/**
 * An upper bound on purpose: 30 statements per file, each marked with an AccessExclusiveLock (the engine records
 * only the locks a statement newly takes, so a real file marks far fewer), a finding per file.
 * @returns {import('../src/core/review.js').ReviewReport}
 */
export function twentyMigrationReport() {
  const migrations = Array.from({ length: 20 }, (_, i) => widenTable(i));
  return { range: { from: '0009', to: '0029' }, target: 'shop', scratch: SCRATCH, verdict: 'findings', migrations };
}

/**
 * The 20 migrations the review bench (W6) would review: bench/workload.mjs's one-line files, a table and an
 * index each, traced as PostgreSQL 17 locks them.
 * @returns {import('../src/core/review.js').ReviewReport}
 */
export function workloadReport() {
  const migrations = Array.from({ length: 20 }, (_, k) => {
    const i = k + 1;
    const version = String(i).padStart(4, '0');
    const file = `sql/bench/${version}_m${i}.up.sql`;
    const up = upSql(i);
    const [table, index] = up.trim().split('; ');
    return {
      version, name: `m${i}`, file, transaction: true,
      up: { ok: true, error: null, statements: [
        { line: 1, sql: table, ms: 2.1, locks: [{ relation: `public.t_${i}`, mode: 'AccessExclusiveLock' }], rewrites: [] },
        { line: 1, sql: index, ms: 1.4, locks: [{ relation: `public.t_${i}`, mode: 'ShareLock' }], rewrites: [] },
      ] },
      changes: [
        { change: 'added', kind: 'table', name: `public.t_${i}`, detail: '' },
        { change: 'added', kind: 'index', name: `public.t_${i}_name_idx`, detail: 'btree (name)' },
      ],
      down: { file: file.replace('.up.', '.down.'), ok: true, reverts: true, differences: [], error: null, statements: [
        { line: 1, sql: downSql(i).trim(), ms: 1.1, locks: [{ relation: `public.t_${i}`, mode: 'AccessExclusiveLock' }], rewrites: [] },
      ] },
      reapply: { ok: true, error: null },
      findings: [{ rule: 'require-concurrent-index-creation', source: 'squawk', severity: 'warning', file, line: 1, column: 103,
        message: 'During normal index creation, table updates are blocked, but reads are still allowed.', help: 'Use `CONCURRENTLY` to avoid blocking writes.' }],
      up_sql: up,
      down_sql: downSql(i),
    };
  });
  return { range: { from: null, to: '0020' }, target: 'bench', scratch: SCRATCH, verdict: 'findings', migrations };
}
