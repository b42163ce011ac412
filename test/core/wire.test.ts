import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StatementWatch } from '../../src/core/wire.js';

const test = suite('core/wire');

function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const complete = (tag: string) => message('C', Buffer.from(`${tag}\0`));
const error = (code: string, text: string) => message('E', Buffer.from(`SERROR\0VERROR\0C${code}\0M${text}\0Fpostgres.c\0\0`));
const ready = () => message('Z', Buffer.from('E'));
const notice = () => message('N', Buffer.from('SNOTICE\0C00000\0Mhello\0\0'));
const rows = () => Buffer.concat([message('T', Buffer.alloc(20)), message('D', Buffer.alloc(9)), complete('SELECT 1')]);

/** Two queries' answers: BEGIN, 3 statements then a division by zero; then a query that failed at once. */
function stream(): Buffer {
  return Buffer.concat([
    complete('BEGIN'), notice(), complete('CREATE TABLE'), rows(), complete('INSERT 0 1'), error('22012', 'division by zero'), ready(),
    error('25P02', 'current transaction is aborted, commands ignored until end of transaction block'), ready(),
  ]);
}

test('counts the statements completed before an error, per query', () => {
  const watch = new StatementWatch();
  watch.feed(stream());
  assert.is(watch.completedBefore('22012', 'division by zero'), 4);
});

test('the same count whatever the chunks the stream arrives in, down to one byte each', () => {
  const bytes = stream();
  for (const size of [1, 2, 3, 5, 7, 64]) {
    const watch = new StatementWatch();
    for (let i = 0; i < bytes.length; i += size) watch.feed(bytes.subarray(i, i + size));
    assert.is(watch.completedBefore('25P02', 'current transaction is aborted, commands ignored until end of transaction block'), 0, `chunks of ${size}`);
  }
});

test('an error not seen is undefined, and a claim forgets what was seen; the latest of two alike wins', () => {
  const watch = new StatementWatch();
  watch.feed(Buffer.concat([complete('BEGIN'), error('55P03', 'lock timeout'), ready(), complete('BEGIN'), complete('SET'), error('55P03', 'lock timeout'), ready()]));
  assert.is(watch.completedBefore('23505', 'duplicate key'), undefined);
  watch.feed(Buffer.concat([complete('BEGIN'), error('55P03', 'lock timeout'), ready(), complete('BEGIN'), complete('SET'), error('55P03', 'lock timeout'), ready()]));
  assert.is(watch.completedBefore('55P03', 'lock timeout'), 2);
  assert.is(watch.completedBefore('55P03', 'lock timeout'), undefined);
});

test.run();
