// Small helpers shared by tests that need no database.
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { DbvcError } from '../../src/core/errors.js';

/** The DbvcError that run() throws; fails the test when it throws nothing or something else. */
export function caught(run: () => unknown): DbvcError {
  try {
    run();
  } catch (error) {
    assert.instance(error, DbvcError);
    return error as DbvcError;
  }
  throw new assert.Assertion({ message: 'expected a DbvcError to be thrown', operator: 'throws', generated: false, expects: 'error', actual: 'nothing' });
}

const found = new Map<string, string | null>();

/** `name` when running `name --version` succeeds on this machine, else null (the tests that need it say so). */
export function findCommand(name: string): string | null {
  if (!found.has(name)) found.set(name, spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0 ? name : null);
  return found.get(name)!;
}

/**
 * Says that `count` tests of this file did not run and why, in the one format test/run.mjs counts: uvu only knows
 * test.skip, and these tests are left out (or return early) when a tool is missing.
 */
export function reportSkipped(count: number, reason: string): void {
  console.log(`  [skipped] ${count} test${count === 1 ? '' : 's'}: ${reason}`);
}
