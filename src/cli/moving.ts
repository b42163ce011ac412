// upgrade and downgrade: run the plan, or render it as a script (--sql).
import { DbvcError } from '../core/errors.js';
import type { Log } from '../log.js';
import { addFleetOptions, addMoveOptions, addTargetOptions, command, configure, loadApi, prog, singleOrFleet, writeInChunks, type Options } from './program.js';

export function defineMovingCommands(): void {
  prog.command('upgrade [revision]')
    .describe('Apply migrations up to REVISION (default head). REVISION: head, an id (0003), number (3), stem, +N, head-N, id+N. With --sql, REVISION is a range FROM:TO (default base:head) rendered as a script, without connecting')
    .example('upgrade').example('upgrade +1 --db aiven').example('upgrade 0003').example('upgrade 0002:0005 --sql --out review.sql')
    .example('upgrade --all --parallel 8').example('upgrade --db tenants --canary 1')
    .action(command((log, o, signal, rev) => move(log, o, signal, 'up', rev)));
  addTargetOptions(true);
  addMoveOptions();
  addFleetOptions(true);
  prog.option('--allow-out-of-order', 'Also apply files below the current revision that never ran (recorded as out of order); dbvc renumber is the other way out');

  prog.command('downgrade <revision>')
    .describe('Run down files back to REVISION: base, an id, number, stem, -N, id-N. With --sql, REVISION is a range FROM:TO rendered as a script, without connecting')
    .example('downgrade -1').example('downgrade 0002 --db aiven').example('downgrade base').example('downgrade 0005:0002 --sql')
    .action(command((log, o, signal, rev) => move(log, o, signal, 'down', rev)));
  addTargetOptions(true);
  addMoveOptions();
  addFleetOptions(true);
}

async function move(log: Log, o: Options, signal: AbortSignal, direction: 'up' | 'down', rev: string | undefined) {
  if (o.sql) return renderScript(log, o, direction, rev);
  if (o.out !== undefined) throw new DbvcError('usage', '--out goes with --sql', { hint: 'add --sql to render a script instead of running the migrations' });
  if (o.resume && o.restart) throw new DbvcError('usage', '--resume and --restart exclude each other', { hint: 'pick one; dbvc status explains both' });
  const moveOptions = { singleTransaction: Boolean(o['single-transaction']), resume: Boolean(o.resume), restart: Boolean(o.restart), allowOutOfOrder: Boolean(o['allow-out-of-order']) };
  const single = await singleOrFleet(log, o, signal, { kind: 'move', direction, revision: rev ?? 'head', move: moveOptions });
  if ('code' in single) return single.code;
  const config = single.config;
  const api = await loadApi();
  const options = { report: log, signal, ...moveOptions };
  const run = direction === 'up' ? api.upgrade(config, rev, options) : api.downgrade(config, rev!, options);
  const result = await run;
  const where = `${result.to ?? 'base'}${result.isHead && result.to !== null ? ' (head)' : ''}`;
  if (result.steps.length === 0) return log.result(`nothing to do: ${config.db} is already at ${where}`);
  log.result(`${config.db} is now at ${where} (${result.steps.length} migration${result.steps.length === 1 ? '' : 's'} ${direction === 'up' ? 'applied' : 'reverted'})`);
}

async function renderScript(log: Log, o: Options, direction: 'up' | 'down', range: string | undefined) {
  const { wantsFleet } = await import('../fleet/present.js');
  if (wantsFleet(o)) throw new DbvcError('usage', '--sql renders the script of one target, not a fleet', { hint: 'run it per target: --sql --db NAME (the script is the same for every database of a target)' });
  if (o.out === '' || o.out === true as unknown) throw new DbvcError('usage', '--out needs a FILE or a DIR/', { hint: 'for example --out review.sql or --out review/' });
  const api = await loadApi();
  const config = await configure(log, o, false);
  const script = await api.renderOffline(config, direction, range);
  if (o.out === undefined) return writeInChunks(log, script.files.map((f, i) => (i === 0 ? f.text : `\n${f.text}`)));
  const written = await api.saveOffline(script, String(o.out), process.cwd());
  log.info(`wrote ${written.length === 1 ? written[0] : `${written.length} files into ${String(o.out)}`}: ${script.from ?? 'base'} -> ${script.to ?? 'base'}, ${script.steps} migration${script.steps === 1 ? '' : 's'}`);
}
