// Bounded-parallel runs over a fleet's databases, with the failure policy (stop, --keep-going, --canary) and Ctrl-C.
import { DbvcError, isDbvcError } from '../core/errors.js';
import type { Outcome } from '../core/matrix.js';
import type { FleetUnit } from './targets.js';

export interface FleetPolicy {
  parallel: number; // databases at once, across all targets
  keepGoing: boolean; // start every database whatever fails
  canary: number; // run the first N databases first; start the rest only if all of them succeeded
}

export const DEFAULT_POLICY: FleetPolicy = { parallel: 4, keepGoing: false, canary: 0 };

export type UnitResult<T> =
  | { unit: FleetUnit; outcome: 'ok'; value: T }
  | { unit: FleetUnit; outcome: 'failed' | 'interrupted'; error: unknown }
  | { unit: FleetUnit; outcome: 'not started' };

export interface FleetEvents {
  started?(unit: FleetUnit): void;
  finished?(unit: FleetUnit, outcome: Outcome, error?: unknown): void;
}

/**
 * Runs `work` once per unit, at most policy.parallel at a time, in the units' order. After a failure no new unit
 * starts (unless keepGoing) and those in flight finish; after the signal fires none starts and those in flight see
 * the signal (each rolls back its migration in progress and releases its lock). Never throws for a unit's failure:
 * every unit gets a result, in the order given.
 */
export async function runFleet<T>(units: FleetUnit[], work: (unit: FleetUnit, signal?: AbortSignal) => Promise<T>, policy: FleetPolicy, signal?: AbortSignal, events: FleetEvents = {}): Promise<UnitResult<T>[]> {
  checkPolicy(policy);
  const results: UnitResult<T>[] = units.map((unit) => ({ unit, outcome: 'not started' }));
  let isStopped = false;
  const runOne = async (index: number) => {
    const unit = units[index];
    events.started?.(unit);
    try {
      results[index] = { unit, outcome: 'ok', value: await work(unit, signal) };
      events.finished?.(unit, 'ok');
    } catch (error) {
      const outcome = signal?.aborted && isDbvcError(error) && error.code === 'interrupted' ? 'interrupted' : 'failed';
      results[index] = { unit, outcome, error };
      if (!policy.keepGoing) isStopped = true;
      events.finished?.(unit, outcome, error);
    }
  };
  const mayStart = () => !isStopped && !signal?.aborted;
  const indexes = units.map((_, index) => index);
  const canaries = indexes.slice(0, policy.canary);
  await inPool(canaries, policy.parallel, mayStart, runOne);
  if (canaries.some((index) => results[index].outcome !== 'ok')) isStopped = true; // even with keepGoing
  await inPool(indexes.slice(canaries.length), policy.parallel, mayStart, runOne);
  return results;
}

/** Runs `run` over `indexes` with at most `width` at once, starting each only while mayStart() holds. */
async function inPool(indexes: number[], width: number, mayStart: () => boolean, run: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < indexes.length && mayStart()) await run(indexes[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, indexes.length) }, worker));
}

function checkPolicy(policy: FleetPolicy): void {
  if (!Number.isInteger(policy.parallel) || policy.parallel < 1) {
    throw new DbvcError('usage', `--parallel ${policy.parallel} is not a number of databases at once`, { hint: 'use a whole number from 1, for example --parallel 4' });
  }
  if (!Number.isInteger(policy.canary) || policy.canary < 0) {
    throw new DbvcError('usage', `--canary ${policy.canary} is not a number of databases`, { hint: 'use a whole number, for example --canary 1' });
  }
}
