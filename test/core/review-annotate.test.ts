import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { annotateSql } from '../../src/core/annotate.js';
import type { Finding, RunTrace } from '../../src/core/review.js';

const test = suite('core/annotate');

const TEXT = '-- leading comment\nCREATE INDEX i ON t (a);\n\n  ALTER TABLE t\n    ADD COLUMN b int;\nSELECT 1; SELECT 2;\n';
const trace: RunTrace = {
  ok: true, error: null, statements: [
    { line: 2, sql: '', ms: 1.5, locks: [{ relation: 'public.t', mode: 'ShareLock' }], rewrites: [] },
    { line: 4, sql: '', ms: 2, locks: [], rewrites: ['public.t'] },
    { line: 6, sql: '', ms: 0.1, locks: [], rewrites: [] },
    { line: 6, sql: '', ms: 0.1, locks: [], rewrites: [], locks_observed: false },
  ],
};
const finding: Finding = { rule: 'r', source: 'squawk', severity: 'warning', file: 'f', line: 5, column: 5, message: 'two\nlines', help: 'h' };

test('comments go before each statement, at its indentation; findings go with the statement whose lines hold them', () => {
  assert.is(annotateSql(TEXT, trace, [finding]), [
    '-- leading comment',
    '-- dbvc review: locks ShareLock public.t; rewrites none; 1.5 ms on scratch',
    'CREATE INDEX i ON t (a);',
    '',
    '  -- dbvc review: locks none new; rewrites public.t; 2 ms on scratch',
    '-- dbvc review: warning r (squawk, 5:5): two lines (help: h)',
    '  ALTER TABLE t',
    '    ADD COLUMN b int;',
    '-- dbvc review: locks none new; rewrites none; 0.1 ms on scratch',
    'SELECT 1; -- dbvc review: locks not observable; rewrites none; 0.1 ms on scratch',
    'SELECT 2;',
    '',
  ].join('\n'));
});

test('only comments are added: dropping them gives the text back', () => {
  const annotated = annotateSql(TEXT, trace, [finding]);
  const stripped = annotated.replace(/-- dbvc review:[^\n]*\n[ \t]*/g, '');
  assert.is(stripped, TEXT);
});

test('a statement that failed, and those after it, say so', () => {
  const failed: RunTrace = { ok: false, error: { file: 'f', line: 4, sqlstate: '42P01', message: 'no t' }, statements: [trace.statements[0]] };
  const lines = annotateSql(TEXT, failed, []).split('\n').filter((l) => l.includes('dbvc review'));
  assert.equal(lines.slice(1), ['  -- dbvc review: failed on the scratch database: 42P01 no t', '-- dbvc review: not reached on the scratch database', 'SELECT 1; -- dbvc review: not reached on the scratch database']);
});

test.run();
