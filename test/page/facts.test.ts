// What the page says about locks and verdicts, derived from the report alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lockLevel, migrationVerdict, revertsText, strongestLock } from '../../src/review/page-facts.js';
import { cleanReport, failedReport, notRevertingReport, riskyReport } from './fixtures.js';

const lock = (mode: string, relation: string) => ({ mode, relation });
const traced = (...locks: { mode: string; relation: string }[]) => ({ line: 1, sql: '', ms: 0, locks, rewrites: [] });

test('lock modes rank as PostgreSQL conflicts them, and say what they block', () => {
  const modes = ['AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];
  assert.equal(modes.map((m) => lockLevel(m).rank), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.is(lockLevel('AccessExclusiveLock').blocks, 'blocks reads and writes');
  assert.is(lockLevel('ShareRowExclusiveLock').blocks, 'blocks writes');
  assert.is(lockLevel('ShareUpdateExclusiveLock').blocks, 'blocks other DDL and VACUUM');
  assert.is(lockLevel('toString').rank, 0, 'an unknown mode, even one named like an Object property');
});

test('the strongest lock names every relation held in that mode, once, sorted', () => {
  const statements = [traced(lock('ShareLock', 'public.b')), traced(lock('ShareRowExclusiveLock', 'public.z'), lock('ShareRowExclusiveLock', 'public.a')), traced(lock('ShareRowExclusiveLock', 'public.z'))];
  assert.equal(strongestLock(statements), { mode: 'ShareRowExclusiveLock', relations: ['public.a', 'public.z'] });
  assert.is(strongestLock([traced()]), null);
});

test('per-migration verdicts and the down column', () => {
  assert.equal(cleanReport().migrations.map(migrationVerdict), ['ok', 'ok']);
  assert.equal(riskyReport().migrations.map(migrationVerdict), ['findings']);
  assert.equal(notRevertingReport().migrations.map(migrationVerdict), ['findings']);
  assert.equal(failedReport().migrations.map(migrationVerdict), ['failed', 'ok']);
  assert.equal(failedReport().migrations.map((m) => revertsText(m).text), ['not checked', 'no down file']);
  assert.is(revertsText(notRevertingReport().migrations[0]).text, 'no');
});

test.run();
