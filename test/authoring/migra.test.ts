// migra's driver (node-postgres, pooled) beside the scratch databases dbvc drops WITH (FORCE): a CI run of the suite
// exited in the middle of dump's tests, on an 'error' event of pg-pool that nobody listened to.
import type { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openClient } from '../../src/authoring/migra.js';
import { openScratch } from '../../src/review/scratch.js';
import { serverUrl } from '../helpers/db.js';

const test = suite('authoring/migra');

// pg-promise stops listening to its pool when end() is called, and pg-pool's end() resolves before the connections
// have closed: a FORCE drop in that window makes the server end one with 57P01, which pg-pool then emits on the pool
// (makeIdleListener). The window cannot be forced from here, so after a real end() the test emits what pg-pool
// emits in it, then drops the database for real.
test('after end(), an error pg-pool emits for a connection the server ends does not take the process down', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dbvc-migra-'));
  const scratch = await openScratch({ root, url: serverUrl(), env: {}, onNotice: () => {}, onInfo: () => {} });
  const database = await scratch.prepare([]);
  try {
    const client = await openClient(scratch.urlOf(database.name)) as unknown as Awaited<ReturnType<typeof openClient>> & { pgp: { any(sql: string): Promise<{ one: number }[]>; $pool: EventEmitter } };
    const [{ one }] = await client.pgp.any('select 1 as one');
    assert.is(one, 1);
    await client.end();
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    assert.not.throws(() => client.pgp.$pool.emit('error', terminated));
  } finally {
    await database.drop();
    await scratch.close();
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
