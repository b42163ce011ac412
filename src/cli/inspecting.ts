// current, status, show and history: what the target holds, read-only, and how it is printed.
import type * as Api from '../api.js';
import { EXIT_CODES } from '../core/errors.js';
import { alignColumns, formatMs, type Log } from '../log.js';
import { addFleetOptions, addTargetOptions, command, configure, loadApi, prog, singleOrFleet } from './program.js';

export function defineInspectingCommands(): void {
  prog.command('current')
    .describe('Print the revision alembic_version holds')
    .option('--json', 'Print JSON')
    .example('current --db neon').example('current --all')
    .action(command(async (log, o, signal) => {
      const api = await loadApi();
      const single = await singleOrFleet(log, o, signal, { kind: 'current' });
      if ('code' in single) return single.code;
      const result = await api.current(single.config, { report: log, signal });
      if (o.json) return log.json(result);
      log.result(result.current === null ? 'base' : `${result.current}${result.isHead ? ' (head)' : ''}`);
    }));
  addTargetOptions(true);
  addFleetOptions(false);

  prog.command('status')
    .describe('Show the current revision, head, pending migrations and any problem')
    .option('--json', 'Print JSON')
    .option('--exit-code', `Exit ${EXIT_CODES.check} when anything is pending or wrong (a CI gate)`)
    .example('status').example('status --exit-code --db aiven').example('status --db aiven,neon --json')
    .action(command(async (log, o, signal) => {
      const api = await loadApi();
      const single = await singleOrFleet(log, o, signal, { kind: 'status' });
      if ('code' in single) return single.code;
      const report = await api.status(single.config, { report: log, signal });
      if (o.json) log.json(report);
      else printStatus(log, report);
      const isClean = report.pending.length === 0 && report.problems.length === 0;
      return o['exit-code'] && !isClean ? EXIT_CODES.check : 0;
    }));
  addTargetOptions(true);
  addFleetOptions(false);

  prog.command('show <revision>')
    .describe('One migration: its files and checksums, its state on the target, what changed since it was applied (a diff), and its history')
    .option('--json', 'Print JSON')
    .example('show 0003 --db aiven')
    .action(command(async (log, o, signal, rev) => {
      const api = await loadApi();
      const detail = await api.show(await configure(log, o), rev, { report: log, signal });
      if (o.json) return log.json(detail);
      printShow(log, detail);
    }));
  addTargetOptions(true);

  prog.command('history')
    .describe('List dbvc_history: every up, down, stamp, repair and adoption, oldest first')
    .option('--json', 'Print JSON')
    .example('history --db aiven')
    .action(command(async (log, o, signal) => {
      const api = await loadApi();
      const rows = await api.history(await configure(log, o), { report: log, signal });
      if (o.json) return log.json(rows);
      if (rows.length === 0) return log.result('no history yet');
      for (const line of alignColumns(rows.map(historyCells))) log.result(line);
    }));
  addTargetOptions(true);
}

function printStatus(log: Log, report: Api.StatusReport): void {
  const c = log.colors;
  log.result(`current: ${report.current ?? 'base'}${report.currentStem && report.currentStem !== report.current ? ` (${report.currentStem})` : ''}`);
  log.result(`head:    ${report.head ?? 'none (no migrations)'}`);
  log.result(report.applied === null ? 'applied: unknown (see the problem below)' : `applied: ${report.applied}, pending: ${report.pending.length}`);
  const paint: Record<string, (text: string) => string> = { applied: c.green, pending: c.yellow, 'out of order': c.red, changed: c.red, 'missing file': c.red, unknown: c.dim };
  for (const row of report.migrations) log.result(`  ${paint[row.state](row.state.padEnd(12))} ${describeRow(row)}`);
  for (const p of report.problems) {
    log.result(`${c.red('problem')} ${p.message}`);
    for (const d of p.lines) log.result(`  ${d}`);
    if (p.hint) log.result(`  ${c.dim('hint')} ${p.hint}`);
  }
}

/** A history row as the cells of an aligned line: when, event, version, name, move, who, how long, note. */
function historyCells(r: Api.HistoryRow): string[] {
  const isMove = r.event === 'up' || r.event === 'down' || r.event === 'stamp';
  const moved = isMove ? `${r.fromVersion ?? 'base'} -> ${r.toVersion ?? 'base'}` : '';
  const took = r.durationMs === null ? '' : formatMs(r.durationMs);
  return [r.appliedAt.toISOString(), r.event, r.version ?? '', r.name ?? '', moved, `by ${r.appliedBy}@${r.clientHost ?? '?'}`, took, r.note ? `(${r.note})` : ''];
}

function printShow(log: Log, d: Api.MigrationDetail): void {
  log.result(`${d.version}_${d.name}: ${d.state.state}${d.state.appliedAt ? ` (${d.state.appliedHow} on ${d.state.appliedAt.toISOString()} by ${d.state.appliedBy ?? '?'})` : ''}`);
  log.result(`  up:   ${d.up.file}  ${d.up.checksum}`);
  log.result(d.down ? `  down: ${d.down.file}  ${d.down.checksum}${d.down.isEmpty ? '  (empty: nothing to undo)' : ''}` : `  down: none${d.state.down === 'recorded' ? ' on disk; dbvc_history recorded one, which downgrade runs' : ': irreversible'}`);
  if (d.change) {
    log.result(`  changed since it was applied: ${d.change.isCosmetic ? 'only whitespace or comments' : 'the SQL itself'}`);
    for (const line of d.change.diff) log.result(`    ${line}`);
  }
  log.result(d.history.length === 0 ? '  history: none' : '  history:');
  for (const line of alignColumns(d.history.map(historyCells))) log.result(`    ${line}`);
}

function describeRow(row: Api.StatusReport['migrations'][number]): string {
  const what = row.file ?? `${row.version}${row.name ? `_${row.name}` : ''} (recorded in dbvc_history; no file)`;
  const how = row.appliedHow && row.appliedHow !== 'up' ? ` (${row.appliedHow})` : '';
  const when = row.appliedAt ? `  ${row.appliedAt.toISOString()} by ${row.appliedBy ?? '?'}${how}` : '';
  const down = row.down === 'empty' ? '  down: empty, nothing to undo' : row.down === 'none' ? '  no down: irreversible' : row.down === 'recorded' ? '  down: only as recorded' : '';
  return `${what}${when}${down}`;
}
