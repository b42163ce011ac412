// Durations as people write them in flags and env files: 30s, 500ms, 2m (a bare number is seconds).
import { DbvcError } from './errors.js';

/** Milliseconds; a 'usage' DbvcError naming `what` when the text is not a duration. */
export function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new DbvcError('usage', `${what} "${text}" is not a duration`, { hint: 'write for example 30s, 500ms or 2m' });
  const unit = match[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000;
  return Number(match[1]) * factor;
}
