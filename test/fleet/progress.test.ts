// Issue 16, no database: what a fleet run shows on a terminal while it runs (core/progress.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { finishedLine, fitLine, formatSeconds, renderLive, stepText, type LiveUnit } from '../../src/core/progress.js';

const test = suite('fleet progress');

const unit = (i: number, text = 'up   0002_m2  0001 -> 0002'): LiveUnit => ({ label: `tenants h/t${i}`, text, startedAt: 1000 * i });
const screen = { columns: 80, rows: 24 };

test('a line per database in flight, with its latest event and its seconds so far, then the total line', () => {
  const state = { total: 20, finished: 7, failed: 1, interrupted: 0, running: [unit(1), unit(2, 'connecting')] };
  assert.equal(renderLive(state, screen, 13_500), [
    'tenants h/t1  up   0002_m2  0001 -> 0002  12 s',
    'tenants h/t2  connecting  11 s',
    '7/20 done, 2 running, 1 failed',
  ]);
  assert.equal(renderLive({ total: 3, finished: 3, failed: 0, interrupted: 2, running: [] }, screen, 0), ['3/3 done, 0 running, 2 interrupted']);
});

test('more in flight than fit (10, or the rows less two): the total line alone, as a bar', () => {
  const running = Array.from({ length: 11 }, (_, i) => unit(i));
  const state = { total: 40, finished: 10, failed: 0, interrupted: 0, running };
  assert.equal(renderLive(state, screen, 0), ['[#####...............] 10/40 done, 11 running']);
  assert.is(renderLive({ ...state, running: running.slice(0, 4) }, { columns: 80, rows: 5 }, 0)[0], '[#####...............] 10/40 done, 4 running');
  assert.is(renderLive({ ...state, running: running.slice(0, 3) }, { columns: 80, rows: 5 }, 0).length, 4);
});

test('no line reaches the last column, so none wraps; long ones end with an ellipsis', () => {
  const long = unit(1, `up   0002_${'x'.repeat(100)}  0001 -> 0002`);
  const lines = renderLive({ total: 1, finished: 0, failed: 0, interrupted: 0, running: [long] }, { columns: 40, rows: 24 }, 1000);
  assert.equal(lines, ['tenants h/t1  up   0002_xxxxxxxxxxxxxx…', '0/1 done, 1 running']);
  assert.is(lines[0].length, 39);
  assert.is(fitLine('héllo wörld, and more', 12), 'héllo wörl…');
});

test('finished lines, seconds and steps', () => {
  assert.is(finishedLine('tenants h/t1', 'ok', '3 migrations applied', 2500), 'tenants h/t1  done: 3 migrations applied (2 s)');
  assert.is(finishedLine('tenants h/t2', 'interrupted', '', 0), 'tenants h/t2  interrupted (0 s)');
  assert.equal([formatSeconds(-5), formatSeconds(59_999), formatSeconds(185_000)], ['0 s', '59 s', '3 min 05 s']);
  assert.is(stepText({ direction: 'down', from: '0002', to: null, migration: { stem: '0001_m1' } }), 'down 0001_m1  0002 -> base');
});

test.run();
