// Review reports for the page tests, written by hand against the contract (src/core/review.ts), not produced by
// the review engine: the page renders the type, whoever fills it.
import type { MigrationReview, ReviewReport, TracedStatement } from '../../src/core/review.js';
import { twentyMigrationReport } from '../../bench/page-report.mjs';

const SCRATCH = { server_version: '17.10', embedded: true };

function statement(line: number, sql: string, locks: [string, string][] = [], rewrites: string[] = []): TracedStatement {
  return { line, sql, ms: 1.25, locks: locks.map(([mode, relation]) => ({ relation, mode })), rewrites };
}

function migration(version: string, name: string, parts: Partial<MigrationReview> = {}): MigrationReview {
  const file = `sql/shop/${version}_${name}.up.sql`;
  return {
    version, name, file, transaction: true,
    up: { ok: true, error: null, statements: [] },
    changes: [],
    down: { file: `sql/shop/${version}_${name}.down.sql`, ok: true, reverts: true, differences: [], error: null, statements: [] },
    reapply: { ok: true, error: null },
    findings: [],
    up_sql: '',
    down_sql: '',
    ...parts,
  };
}

/** Two migrations, no finding, every down reverts. */
export function cleanReport(): ReviewReport {
  const upSql = 'CREATE TABLE product (\n  id bigint PRIMARY KEY,\n  title text NOT NULL\n);\n';
  const first = migration('0001', 'create_product', {
    up: { ok: true, error: null, statements: [statement(1, 'CREATE TABLE product (\n  id bigint PRIMARY KEY,\n  title text NOT NULL\n)')] },
    changes: [{ change: 'added', kind: 'table', name: 'public.product', detail: '' }],
    up_sql: upSql,
    down_sql: 'DROP TABLE product;\n',
  });
  first.down.statements = [statement(1, 'DROP TABLE product', [['AccessExclusiveLock', 'public.product']])];
  const second = migration('0002', 'add_price', {
    up: { ok: true, error: null, statements: [statement(1, 'ALTER TABLE product ADD COLUMN price numeric', [['AccessExclusiveLock', 'public.product']])] },
    changes: [{ change: 'added', kind: 'column', name: 'public.product.price', detail: 'numeric' }],
    up_sql: 'ALTER TABLE product ADD COLUMN price numeric;\n',
    down_sql: 'ALTER TABLE product DROP COLUMN price;\n',
  });
  return { range: { from: null, to: '0002' }, target: 'shop', scratch: SCRATCH, verdict: 'ok', made_at: '2026-12-04T19:00:00Z', git_commit: '3f2a9c1e', migrations: [first, second] };
}

export const RISKY_UP = [
  '-- add a sku, backfilled from the clock',
  'SET lock_timeout = \'2s\';',
  '',
  'ALTER TABLE product',
  '  ADD COLUMN added_at timestamptz NOT NULL DEFAULT clock_timestamp();',
  '',
  'CREATE INDEX product_added_at ON product (added_at);',
  '',
].join('\n');

/** One migration with a rewrite under ACCESS EXCLUSIVE (line 4), a ShareLock index build (line 7) and findings. */
export function riskyReport(): ReviewReport {
  const risky = migration('0005', 'add_added_at', {
    up: {
      ok: true, error: null,
      statements: [
        statement(2, "SET lock_timeout = '2s'"),
        statement(4, 'ALTER TABLE product\n  ADD COLUMN added_at timestamptz NOT NULL DEFAULT clock_timestamp()', [['AccessExclusiveLock', 'public.product']], ['public.product']),
        statement(7, 'CREATE INDEX product_added_at ON product (added_at)', [['ShareLock', 'public.product']]),
      ],
    },
    changes: [
      { change: 'added', kind: 'column', name: 'public.product.added_at', detail: 'timestamp with time zone not null default clock_timestamp()' },
      { change: 'added', kind: 'index', name: 'public.product_added_at', detail: 'btree (added_at)' },
    ],
    findings: [
      { rule: 'require-concurrent-index-creation', source: 'squawk', severity: 'warning', file: 'sql/shop/0005_add_added_at.up.sql', line: 7, column: 1,
        message: 'During normal index creation, table updates are blocked, but reads are still allowed.', help: 'Use `CONCURRENTLY` to avoid blocking writes.' },
      { rule: 'rewrite-under-access-exclusive', source: 'dbvc', severity: 'error', file: 'sql/shop/0005_add_added_at.up.sql', line: 4, column: 1,
        message: 'This statement rewrote public.product while holding an AccessExclusiveLock on it: reads and writes wait for the whole rewrite.',
        help: 'Add the column without a volatile default, then backfill in batches.' },
    ],
    up_sql: RISKY_UP,
    down_sql: 'DROP INDEX product_added_at;\nALTER TABLE product DROP COLUMN added_at;\n',
  });
  risky.down.statements = [
    statement(1, 'DROP INDEX product_added_at', [['AccessExclusiveLock', 'public.product_added_at'], ['AccessExclusiveLock', 'public.product']]),
    statement(2, 'ALTER TABLE product DROP COLUMN added_at', [['AccessExclusiveLock', 'public.product']]),
  ];
  return { range: { from: '0004', to: '0005' }, target: 'shop', scratch: SCRATCH, verdict: 'findings', migrations: [risky] };
}

/** A down that leaves a column and an enum behind. */
export function notRevertingReport(): ReviewReport {
  const leaky = migration('0007', 'add_status', {
    up: { ok: true, error: null, statements: [
      statement(1, "CREATE TYPE order_status AS ENUM ('new', 'paid')"),
      statement(2, "ALTER TABLE orders ADD COLUMN status order_status NOT NULL DEFAULT 'new'", [['AccessExclusiveLock', 'public.orders']]),
    ] },
    changes: [
      { change: 'added', kind: 'enum', name: 'public.order_status', detail: "'new', 'paid'" },
      { change: 'added', kind: 'column', name: 'public.orders.status', detail: "order_status not null default 'new'" },
    ],
    up_sql: "CREATE TYPE order_status AS ENUM ('new', 'paid');\nALTER TABLE orders ADD COLUMN status order_status NOT NULL DEFAULT 'new';\n",
    down_sql: '-- forgot the column and the type\nSELECT 1;\n',
  });
  leaky.down = {
    ...leaky.down, reverts: false,
    statements: [statement(2, 'SELECT 1')],
    differences: [
      { change: 'added', kind: 'column', name: 'public.orders.status', detail: 'left behind by the down' },
      { change: 'added', kind: 'enum', name: 'public.order_status', detail: 'left behind by the down' },
    ],
  };
  return { range: { from: '0006', to: '0007' }, scratch: { server_version: '16.4', embedded: false }, verdict: 'findings', git_commit: null, migrations: [leaky] };
}

export const EVIL = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

/** Report text that is HTML: file text, names, messages, relations. The page must show it, not run it. */
export function evilReport(): ReviewReport {
  const up = `-- ${EVIL}\nCOMMENT ON TABLE product IS '${EVIL}';\n`;
  const evil = migration('0009', `x${EVIL}`, {
    file: `sql/shop/0009_${EVIL}.up.sql`,
    up: { ok: true, error: null, statements: [statement(2, up.split('\n')[1], [['AccessExclusiveLock', `public."${EVIL}"`]], [`public."${EVIL}"`])] },
    changes: [{ change: 'changed', kind: 'table', name: `public."${EVIL}"`, detail: EVIL }],
    findings: [{ rule: `rule${EVIL}`, source: 'dbvc', severity: 'note', file: `sql/shop/0009_${EVIL}.up.sql`, line: 2, column: 1, message: EVIL, help: EVIL }],
    up_sql: up,
    down_sql: `-- ${EVIL}\n`,
  });
  return { range: { from: '0008', to: '0009' }, target: `shop${EVIL}`, scratch: { server_version: EVIL, embedded: true }, verdict: 'findings', git_commit: EVIL, migrations: [evil] };
}

/** Twenty migrations of thirty marked statements each: the upper bound bench/page.mjs measures too. */
export function twentyReport(): ReviewReport {
  return twentyMigrationReport();
}

/** An up that fails at line 2, then a migration with no down file whose report carries no file text. */
export function failedReport(): ReviewReport {
  const error = { file: 'sql/shop/0011_bad_column.up.sql', line: 2, sqlstate: '42703', message: 'column "nope" does not exist' };
  const failing = migration('0011', 'bad_column', {
    up: { ok: false, error, statements: [statement(1, 'ALTER TABLE product ADD COLUMN ok boolean', [['AccessExclusiveLock', 'public.product']])] },
    up_sql: 'ALTER TABLE product ADD COLUMN ok boolean;\nUPDATE product SET ok = nope;\n',
    reapply: { ok: false, error: null },
  });
  failing.down = { ...failing.down, ok: false, reverts: null };
  const oneWay = migration('0012', 'one_way', {
    up: { ok: true, error: null, statements: [statement(3, 'VACUUM product', [['ShareUpdateExclusiveLock', 'public.product']]), statement(4, "SELECT pg_advisory_xact_lock(1)", [['SomeFutureLock', 'public.product']])] },
    up_sql: undefined,
    down_sql: undefined,
  });
  oneWay.transaction = false;
  oneWay.down = { file: null, ok: true, reverts: null, differences: [], error: null, statements: [] };
  return { range: { from: '0010', to: null }, target: 'shop', scratch: SCRATCH, verdict: 'failed', migrations: [failing, oneWay] };
}
