// importAlembic on disk (no Alembic, no database needed): numbering, never overwriting, all files or none.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importAlembic, writeFilesOrNone } from '../../src/alembic.js';
import { resolveConfig } from '../../src/config.js';
import { rejection, ROOT } from '../helpers/db.js';

const test = suite<{ dir: string }>('alembic/import');

const UPGRADE = [
  'BEGIN;', '',
  'CREATE TABLE alembic_version (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);', '',
  '-- Running upgrade  -> 6173b7ed3174', '', 'CREATE TABLE product (id int);', '',
  "INSERT INTO alembic_version (version_num) VALUES ('6173b7ed3174') RETURNING alembic_version.version_num;", '',
  '-- Running upgrade 6173b7ed3174 -> ae1027a6acf2', '', 'ALTER TABLE product ADD COLUMN name text;', '',
  "UPDATE alembic_version SET version_num='ae1027a6acf2' WHERE alembic_version.version_num = '6173b7ed3174';", '',
  'COMMIT;', '', '',
].join('\n');
const DOWNGRADE = [
  'BEGIN;', '',
  '-- Running downgrade ae1027a6acf2 -> 6173b7ed3174', '', 'ALTER TABLE product DROP COLUMN name;', '',
  "UPDATE alembic_version SET version_num='6173b7ed3174' WHERE alembic_version.version_num = 'ae1027a6acf2';", '',
  '-- Running downgrade 6173b7ed3174 -> ', '', 'DROP TABLE product;', '',
  "DELETE FROM alembic_version WHERE alembic_version.version_num = '6173b7ed3174';", '', 'DROP TABLE alembic_version;', '',
  'COMMIT;', '', '',
].join('\n');

test.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dbvc-import-'));
});
test.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

const configIn = (dir: string) => resolveConfig({ dir }, {}, ROOT, false);

test('creates a missing folder and writes the pairs in chain order', async ({ dir }) => {
  const config = configIn(join(dir, 'sql', 'neon'));
  const result = await importAlembic(config, { upgradeScript: UPGRADE, downgradeScript: DOWNGRADE });
  const label = config.migrationsLabel;
  assert.equal(result, {
    written: ['0001_alembic_6173b7ed3174.up.sql', '0001_alembic_6173b7ed3174.down.sql', '0002_alembic_ae1027a6acf2.up.sql', '0002_alembic_ae1027a6acf2.down.sql'].map((n) => `${label}/${n}`),
    warnings: [],
  });
  const down = await readFile(join(config.migrationsDir, '0002_alembic_ae1027a6acf2.down.sql'), 'utf8');
  assert.is(down, [
    '-- 0002_alembic_ae1027a6acf2 (downgrade): Alembic revision ae1027a6acf2, revises 6173b7ed3174.',
    "-- Imported from what `alembic downgrade head:base --sql` printed, without Alembic's alembic_version and BEGIN/COMMIT statements.",
    '-- dbvc:alembic-revision ae1027a6acf2', '', 'ALTER TABLE product DROP COLUMN name;', '',
  ].join('\n'));
});

test('numbers after the folder\'s highest version, leaves other files alone, and refuses a second import', async ({ dir }) => {
  await writeFile(join(dir, '0007_baseline.up.sql'), 'CREATE TABLE base (id int);\n');
  await writeFile(join(dir, 'README.md'), 'notes\n');
  const config = configIn(dir);
  const result = await importAlembic(config, { upgradeScript: UPGRADE });
  assert.equal(result.written.map((p) => p.slice(config.migrationsLabel.length + 1)), ['0008_alembic_6173b7ed3174.up.sql', '0009_alembic_ae1027a6acf2.up.sql']);
  assert.equal(result.warnings.length, 1);
  const before = (await readdir(dir)).sort();
  const again = await rejection(importAlembic(config, { upgradeScript: UPGRADE, downgradeScript: DOWNGRADE }));
  assert.is(again.code, 'usage');
  assert.is(again.message, `2 Alembic revisions are already imported: 6173b7ed3174 (${config.migrationsLabel}/0008_alembic_6173b7ed3174.up.sql), ae1027a6acf2 (${config.migrationsLabel}/0009_alembic_ae1027a6acf2.up.sql)`);
  assert.equal((await readdir(dir)).sort(), before);
});

test('a script that cannot be imported creates nothing, not even the folder', async ({ dir }) => {
  const config = configIn(join(dir, 'sql', 'neon'));
  const error = await rejection(importAlembic(config, { upgradeScript: DOWNGRADE }));
  assert.is(error.code, 'usage');
  assert.equal(await readdir(dir), []);
});

test('writeFilesOrNone refuses a taken name before writing anything, and removes what it wrote when a write fails', async ({ dir }) => {
  await writeFile(join(dir, '0002_b.up.sql'), 'keep me\n');
  const taken = await rejection(writeFilesOrNone(dir, 'sql/x', [{ name: '0001_a.up.sql', text: 'a' }, { name: '0002_b.up.sql', text: 'b' }]));
  assert.equal({ code: taken.code, message: taken.message }, { code: 'usage', message: 'a file to write already exists: sql/x/0002_b.up.sql' });
  assert.equal(await readdir(dir), ['0002_b.up.sql']);
  assert.is(await readFile(join(dir, '0002_b.up.sql'), 'utf8'), 'keep me\n');
  const failed = await rejection(writeFilesOrNone(dir, 'sql/x', [{ name: '0001_a.up.sql', text: 'a' }, { name: 'gone/0001_a.down.sql', text: 'b' }]));
  assert.equal({ code: failed.code, message: failed.message }, { code: 'file', message: 'could not write sql/x/gone/0001_a.down.sql (ENOENT)' });
  assert.equal(await readdir(dir), ['0002_b.up.sql']);
});

test.run();
