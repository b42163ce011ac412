// Terminal output (src/log.ts): what a person watching a run on a terminal, or a CI log, sees.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DbvcError } from '../src/core/errors.js';
import type { Step } from '../src/core/plan.js';
import { createLog, redact } from '../src/log.js';

const test = suite('log');

/** stdout and stderr written in one sequence, as they appear on a terminal. */
function terminal(isTTY: boolean) {
  let screen = '';
  const stream = { isTTY, write: (text: string) => { screen += text; return true; } } as unknown as NodeJS.WriteStream;
  const log = createLog({ stdout: stream, stderr: stream, color: false });
  // the log writes what a turn of the event loop gave it at the end of that turn
  return { log, screen: async () => { await new Promise((resolve) => setImmediate(resolve)); return screen; } };
}

const step = (version: string, from: string | null) => ({ direction: 'up', migration: { stem: `${version}_m` }, from, to: version, file: `sql/${version}_m.up.sql` }) as unknown as Step;

test('on a terminal a step line is finished with its time, or ended by a notice and written again when done', async () => {
  const { log, screen } = terminal(true);
  log.stepStart!(step('0001', null));
  log.stepDone!(step('0001', null), 4);
  log.stepStart!(step('0002', '0001'));
  log.notice('NOTICE: hello');
  log.stepDone!(step('0002', '0001'), 2);
  assert.is(await screen(), [
    'up   0001_m  base -> 0001 (4 ms)',
    'up   0002_m  0001 -> 0002',
    'server NOTICE: hello',
    'up   0002_m  0001 -> 0002 (2 ms)',
    '',
  ].join('\n'));
});

test('on a terminal an error starts on its own line, after the line of the step that failed', async () => {
  const { log, screen } = terminal(true);
  log.stepStart!(step('0001', null));
  log.error(new DbvcError('sql', 'sql/0001_m.up.sql:1:24: syntax error', { hint: 'the migration was rolled back' }));
  assert.is(await screen(), 'up   0001_m  base -> 0001\nerror sql/0001_m.up.sql:1:24: syntax error\nhint the migration was rolled back\n');
});

test('off a terminal (a log) a step still running after a second says so, with when it started; a fast one only ends', async () => {
  const { log, screen } = terminal(false);
  log.stepStart!(step('0001', null));
  log.notice('NOTICE: hello');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  log.stepDone!(step('0001', null), 1100);
  log.stepStart!(step('0002', '0001'));
  log.stepDone!(step('0002', '0001'), 4);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const lines = (await screen()).split('\n');
  assert.equal(lines.map((l) => l.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/, '<time>')), [
    'server NOTICE: hello', 'up   0001_m  base -> 0001 started <time>, still running', 'up   0001_m  base -> 0001 (1.1 s)', 'up   0002_m  0001 -> 0002 (4 ms)', '',
  ]);
});

test('redact masks the password of a URL up to its last @, and leaves the same word elsewhere alone', () => {
  assert.is(redact('at postgres://app:p@ssw0rd#2024@db.example.com/app now'), 'at postgres://app:***@db.example.com/app now');
  assert.is(redact('postgres://postgres:postgres@h/postgres in /srv/postgres'), 'postgres://postgres:***@h/postgres in /srv/postgres');
  assert.is(redact('a postgres://u@h/db b postgres://v:x@h2/db'), 'a postgres://u@h/db b postgres://v:***@h2/db');
  assert.is(redact('postgres://u:PASSWORD@h/db'), 'postgres://u:PASSWORD@h/db');
});

test('lines given in one turn leave in one write per stream, in order; a later turn writes again', async () => {
  const writes: string[] = [];
  const stream = (name: string) => ({ isTTY: false, write: (text: string) => { writes.push(`${name}:${text}`); return true; } }) as unknown as NodeJS.WriteStream;
  const log = createLog({ stdout: stream('out'), stderr: stream('err'), color: false });
  for (const v of ['0001', '0002']) {
    log.stepStart!(step(v, null));
    log.stepDone!(step(v, null), 1);
  }
  log.info('a note');
  log.result('done');
  assert.equal(writes, []);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes, ['out:up   0001_m  base -> 0001 (1 ms)\nup   0002_m  base -> 0002 (1 ms)\n', 'err:a note\n', 'out:done\n']);
  log.info('later');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(writes.length, 4);
});

test.run();
