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
  return { log, screen: () => screen };
}

const step = (version: string, from: string | null) => ({ direction: 'up', migration: { stem: `${version}_m` }, from, to: version, file: `sql/${version}_m.up.sql` }) as unknown as Step;

test('on a terminal a step line is finished with its time, or ended by a notice and written again when done', () => {
  const { log, screen } = terminal(true);
  log.stepStart!(step('0001', null));
  log.stepDone!(step('0001', null), 4);
  log.stepStart!(step('0002', '0001'));
  log.notice('NOTICE: hello');
  log.stepDone!(step('0002', '0001'), 2);
  assert.is(screen(), [
    'up   0001_m  base -> 0001 (4 ms)',
    'up   0002_m  0001 -> 0002',
    'server NOTICE: hello',
    'up   0002_m  0001 -> 0002 (2 ms)',
    '',
  ].join('\n'));
});

test('on a terminal an error starts on its own line, after the line of the step that failed', () => {
  const { log, screen } = terminal(true);
  log.stepStart!(step('0001', null));
  log.error(new DbvcError('sql', 'sql/0001_m.up.sql:1:24: syntax error', { hint: 'the migration was rolled back' }));
  assert.is(screen(), 'up   0001_m  base -> 0001\nerror sql/0001_m.up.sql:1:24: syntax error\nhint the migration was rolled back\n');
});

test('off a terminal (a log) each step says when it starts and, after its notices, when it is done', () => {
  const { log, screen } = terminal(false);
  log.stepStart!(step('0001', null));
  log.notice('NOTICE: hello');
  log.stepDone!(step('0001', null), 4);
  assert.is(screen(), 'up   0001_m  base -> 0001 started\nserver NOTICE: hello\nup   0001_m  base -> 0001 (4 ms)\n');
});

test('redact masks the password of a URL up to its last @, and leaves the same word elsewhere alone', () => {
  assert.is(redact('at postgres://app:p@ssw0rd#2024@db.example.com/app now'), 'at postgres://app:***@db.example.com/app now');
  assert.is(redact('postgres://postgres:postgres@h/postgres in /srv/postgres'), 'postgres://postgres:***@h/postgres in /srv/postgres');
  assert.is(redact('a postgres://u@h/db b postgres://v:x@h2/db'), 'a postgres://u@h/db b postgres://v:***@h2/db');
  assert.is(redact('postgres://u:PASSWORD@h/db'), 'postgres://u:PASSWORD@h/db');
});

test.run();
