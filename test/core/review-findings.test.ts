import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decideVerdict, exitCodeOf, readSquawkRows, refineTypeChanges, traceFindings, type TracedFile } from '../../src/core/findings.js';
import type { Finding, MigrationReview, TracedStatement } from '../../src/core/review.js';

const test = suite('core/findings');

const statement = (line: number, locks: [string, string][] = [], rewrites: string[] = []): TracedStatement =>
  ({ line, sql: '', ms: 1, locks: locks.map(([relation, mode]) => ({ relation, mode })), rewrites });
const traced = (statements: TracedStatement[], transaction = true): TracedFile =>
  ({ file: 'up.sql', transaction, trace: { ok: true, error: null, statements } });

test('squawk rows: 0-based lines and columns become 1-based, levels become severities, paths as shown', () => {
  const rows = [{ file: '/p/sql/x/1.up.sql', line: 2, column: 0, level: 'Warning', message: 'm', help: null, rule_name: 'r' },
    { file: '/p/sql/x/1.up.sql', line: 0, column: 4, level: 'Error', message: 'e', help: 'h', rule_name: 'syntax-error' }];
  assert.equal(readSquawkRows(rows, (p) => p.replace('/p/', '')), [
    { rule: 'r', source: 'squawk', severity: 'warning', file: 'sql/x/1.up.sql', line: 3, column: 1, message: 'm', help: '' },
    { rule: 'syntax-error', source: 'squawk', severity: 'error', file: 'sql/x/1.up.sql', line: 1, column: 5, message: 'e', help: 'h' },
  ]);
});

test('a statement after ACCESS EXCLUSIVE in the same transaction, and a rewrite under it', () => {
  const findings = traceFindings(traced([statement(1, [['public.t', 'AccessExclusiveLock']], ['public.t']), statement(3), statement(5)]));
  assert.equal(findings.map((f) => [f.rule, f.line, f.severity]), [
    ['rewrite-under-access-exclusive', 1, 'warning'],
    ['statement-after-access-exclusive', 3, 'warning'],
  ]);
  assert.match(findings[1].message, /^2 statements from here run while ACCESS EXCLUSIVE on public.t \(taken at line 1\)/);
});

test('outside a transaction a lock ends with its statement: no finding for the statements after it', () => {
  const findings = traceFindings(traced([statement(1, [['public.t', 'AccessExclusiveLock']]), statement(2, [], ['public.t'])], false));
  assert.equal(findings, []);
});

test('a lock already held makes a later rewrite in the same transaction a rewrite under it', () => {
  const findings = traceFindings(traced([statement(1, [['public.t', 'AccessExclusiveLock']]), statement(2, [], ['public.t'])]));
  assert.equal(findings.map((f) => [f.rule, f.line]), [['statement-after-access-exclusive', 2], ['rewrite-under-access-exclusive', 2]]);
});

test('55P04 (a new enum value used in its transaction) is an error finding at the failing line', () => {
  const file: TracedFile = { file: 'up.sql', transaction: true, trace: { ok: false, error: { file: 'up.sql', line: 7, sqlstate: '55P04', message: 'unsafe use of new value' }, statements: [] } };
  assert.equal(traceFindings(file).map((f) => [f.rule, f.line, f.severity]), [['enum-value-used-in-transaction', 7, 'error']]);
});

test('changing-column-type becomes a note where the statement rewrote nothing', () => {
  const squawk = (line: number): Finding => ({ rule: 'changing-column-type', source: 'squawk', severity: 'warning', file: 'up.sql', line, column: 30, message: 'm', help: '' });
  const file = traced([statement(1, [], ['public.t']), statement(3), statement(4)]);
  assert.equal(refineTypeChanges([squawk(1), squawk(3), squawk(4)], file).map((f) => f.severity), ['warning', 'note', 'note']);
  assert.equal(refineTypeChanges([{ ...squawk(3), file: 'down.sql' }], file)[0].severity, 'warning');
});

test('verdict and exit code: failures first, then findings at or above --fail-on, or a down that does not revert', () => {
  const base = { up: { error: null }, down: { error: null, reverts: true }, reapply: { error: null }, findings: [] } as unknown as MigrationReview;
  const note = { ...base, findings: [{ severity: 'note' }] } as MigrationReview;
  assert.is(decideVerdict([base], 'error'), 'ok');
  assert.is(decideVerdict([note], 'error'), 'ok');
  assert.is(decideVerdict([note], 'note'), 'findings');
  assert.is(decideVerdict([{ ...base, down: { ...base.down, reverts: false } }], 'error'), 'findings');
  assert.is(decideVerdict([note, { ...base, reapply: { ok: false, error: { file: 'f', line: 1, sqlstate: null, message: 'x' } } }], 'note'), 'failed');
  assert.is(decideVerdict([{ ...base, skipped: 'not rehearsed' }], 'error'), 'failed');
  assert.equal(['ok', 'findings', 'failed'].map((v) => exitCodeOf(v as 'ok')), [0, 3, 1]);
});

test.run();
