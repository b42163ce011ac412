// The live progress of a fleet run on a terminal (core/progress.ts decides the lines): a block at the bottom of
// stderr redrawn in place with ANSI cursor moves, the cursor hidden meanwhile; anything else written to stderr
// (errors, notices, Ctrl-C's message) goes above the block, as do the databases that finished.
import type { Reporter } from '../api.js';
import type { Step } from '../core/plan.js';
import { finishedLine, renderLive, stepText, type LiveUnit } from '../core/progress.js';
import { formatMs, type Log } from '../log.js';
import type { FleetEvents } from './run.js';
import type { FleetUnit } from './targets.js';

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const REDRAW_MS = 500; // the seconds each database has been in flight

export interface LiveDisplay {
  reporterFor(unit: FleetUnit): Reporter & { error(error: unknown): void };
  events: FleetEvents;
  stop(): void; // erases the block and shows the cursor; stderr writes as before
}

/** Live only on a terminal, and not in CI (whose log viewers show a terminal's cursor moves as garbage). */
export function isLiveTerminal(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && !env.CI && env.TERM !== 'dumb';
}

export function startLive(stream: NodeJS.WriteStream, log: Log, units: FleetUnit[], labelOf: (unit: FleetUnit) => string): LiveDisplay {
  const original = stream.write;
  const write = (text: string) => original.call(stream, text);
  const known = new Set(units);
  const running = new Map<FleetUnit, LiveUnit & { steps: number; direction?: string }>();
  const counts = { total: units.length, finished: 0, failed: 0, interrupted: 0 };
  let height = 0; // lines of the block now on screen, the cursor just below them
  let shown = '';
  let isStopped = false;
  const erase = () => (height > 0 ? `\x1b[${height}A\r\x1b[J` : '');
  const draw = () => {
    const lines = renderLive({ ...counts, running: [...running.values()] }, { columns: stream.columns || 80, rows: stream.rows || 24 }, Date.now());
    const text = `${lines.join('\n')}\n`;
    if (text === shown) return;
    write(`${erase()}${text}`);
    [height, shown] = [lines.length, text];
  };
  let isDrawPending = false;
  const schedule = () => {
    if (isDrawPending) return;
    isDrawPending = true;
    setImmediate(() => {
      isDrawPending = false;
      if (!isStopped) draw();
    });
  };
  // every other writer of stderr (the log, Ctrl-C's message): the block is erased, the text written, the block redrawn
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    write(erase());
    [height, shown] = [0, ''];
    const result = (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    draw();
    return result;
  }) as typeof stream.write;
  const showCursor = () => write(SHOW_CURSOR); // also when a second Ctrl-C exits at once
  process.on('exit', showCursor);
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  write(HIDE_CURSOR);
  draw();

  const update = (unit: FleetUnit, text: string) => {
    const live = running.get(unit);
    if (!live) return;
    live.text = text;
    schedule();
  };
  const reporterFor = (unit: FleetUnit) => {
    const lines = log.prefixed(labelOf(unit)); // what must stay: notices, retries, errors
    const done = (step: Step, ms: number) => {
      const live = running.get(unit);
      if (live) [live.steps, live.direction] = [live.steps + 1, step.direction];
      update(unit, `${stepText(step)} (${formatMs(ms)})`);
    };
    return { ...lines, info: (text: string) => update(unit, text), stepStart: (step: Step) => update(unit, stepText(step)), stepDone: done, stepRan: done };
  };
  const events: FleetEvents = {
    started(unit) {
      if (!known.has(unit)) counts.total += 1; // review's rehearsals, after its databases
      running.set(unit, { label: labelOf(unit), text: 'starting', startedAt: Date.now(), steps: 0 });
      schedule();
    },
    finished(unit, outcome, error) {
      const live = running.get(unit);
      running.delete(unit);
      counts.finished += 1;
      if (outcome === 'failed') counts.failed += 1;
      if (outcome === 'interrupted') counts.interrupted += 1;
      const moved = live && live.steps > 0 ? `${live.steps} migration${live.steps === 1 ? '' : 's'} ${live.direction === 'down' ? 'reverted' : 'applied'}` : '';
      stream.write(`${finishedLine(labelOf(unit), outcome, moved, live ? Date.now() - live.startedAt : 0)}\n`);
      if (error !== undefined) reporterFor(unit).error(error);
    },
  };
  return {
    reporterFor, events,
    stop() {
      if (isStopped) return;
      isStopped = true;
      clearInterval(timer);
      stream.write = original;
      write(`${erase()}${SHOW_CURSOR}`);
      process.off('exit', showCursor);
    },
  };
}
