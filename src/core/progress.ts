// What a fleet run shows on a terminal while it runs: one live line per database in flight and a total line under
// them, or only the total line as a bar when more are in flight than fit; finished databases scroll above.
import type { Step } from './plan.js';

export interface LiveUnit {
  label: string; // target and database
  text: string; // its latest event: "up   0002_m2  0001 -> 0002", "connecting", ...
  startedAt: number; // ms
}

export interface ProgressState {
  total: number; // databases (or targets, rehearsals) in the run
  finished: number;
  failed: number; // of the finished
  interrupted: number; // of the finished
  running: LiveUnit[]; // in the order they started
}

export interface Screen {
  columns: number;
  rows: number;
}

const MOST_LIVE_LINES = 10;
const BAR_WIDTH = 20;

/**
 * The live block, top to bottom: a line per database in flight (label, latest event, seconds so far), then the
 * total line. When more are in flight than fit (10, or the screen's rows less two), the total line alone, as a bar.
 * No line reaches the last column, so none wraps and the block's height is its number of lines.
 */
export function renderLive(state: ProgressState, screen: Screen, now: number): string[] {
  const room = Math.min(MOST_LIVE_LINES, screen.rows - 2);
  const isBar = state.running.length > room;
  const lines = isBar ? [] : state.running.map((u) => `${u.label}  ${u.text}  ${formatSeconds(now - u.startedAt)}`);
  lines.push(totalLine(state, isBar));
  return lines.map((line) => fitLine(line, screen.columns));
}

function totalLine(state: ProgressState, isBar: boolean): string {
  const counts = [`${state.finished}/${state.total} done`, `${state.running.length} running`];
  if (state.failed > 0) counts.push(`${state.failed} failed`);
  if (state.interrupted > 0) counts.push(`${state.interrupted} interrupted`);
  if (!isBar) return counts.join(', ');
  const filled = state.total === 0 ? BAR_WIDTH : Math.floor((state.finished / state.total) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${counts.join(', ')}`;
}

/** The line that stays, above the live block, once a database is done (a failure prints its whole error instead). */
export function finishedLine(label: string, outcome: string, summary: string, ms: number): string {
  return `${label}  ${outcome === 'ok' ? 'done' : outcome}${summary ? `: ${summary}` : ''} (${formatSeconds(ms)})`;
}

/** "0 s", "12 s", "3 min 05 s": how long a database has been in flight. */
export function formatSeconds(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

/** At most columns - 1 characters (the last column would wrap on some terminals), cut with an ellipsis. */
export function fitLine(line: string, columns: number): string {
  const room = Math.max(columns - 1, 10);
  const chars = Array.from(line);
  return chars.length <= room ? line : `${chars.slice(0, room - 1).join('')}…`;
}

/** A migration step as its live line shows it: "up   0002_m2  0001 -> 0002". */
export function stepText(step: Pick<Step, 'direction' | 'from' | 'to'> & { migration: { stem: string } }): string {
  return `${step.direction === 'up' ? 'up  ' : 'down'} ${step.migration.stem}  ${step.from ?? 'base'} -> ${step.to ?? 'base'}`;
}
