// stamp, repair and renumber: what dbvc records of a target, set straight by hand.
import { addTargetOptions, command, configure, loadApi, prog } from './program.js';

export function defineRecordCommands(): void {
  prog.command('stamp <revision>')
    .describe('Set alembic_version to REVISION without running migrations (adopt an existing database)')
    .option('--purge', 'Empty alembic_version first (unknown Alembic revision or branches)')
    .example('stamp 0003 --db aiven').example('stamp 0001 --purge')
    .action(command(async (log, o, signal, rev) => {
      const api = await loadApi();
      const result = await api.stamp(await configure(log, o), rev, Boolean(o.purge), { report: log, signal });
      log.result(`stamped: ${result.from ?? 'base'} -> ${result.to ?? 'base'} (no migration was run)`);
    }));
  addTargetOptions(true);

  prog.command('repair')
    .describe('Accept the current text of applied files that changed, after review; records who accepted it')
    .example('repair --db aiven')
    .action(command(async (log, o, signal) => {
      const api = await loadApi();
      const { repaired } = await api.repair(await configure(log, o), { report: log, signal });
      if (repaired.length === 0) return log.result('nothing to repair: every applied file matches its recorded checksum');
      for (const r of repaired) log.result(`accepted ${r.file}\n  was ${r.was}\n  now ${r.now}`);
    }));
  addTargetOptions(true);

  prog.command('renumber <revision>')
    .describe('Rename a migration that never ran (one out of order) to the next free number; refuses when the target database knows either number')
    .example('renumber 0005 --db aiven')
    .action(command(async (log, o, signal, rev) => {
      const api = await loadApi();
      const result = await api.renumber(await configure(log, o), rev, { report: log, signal });
      for (const f of result.files) log.result(`renamed ${f.was} -> ${f.now}`);
      log.info(`${result.from} is now ${result.to}; dbvc upgrade applies it after the current head`);
    }));
  addTargetOptions(true);
}
