// init and psql: a new target's files, and a psql session on a target (its embedded server started for it).
import { DbvcError } from '../core/errors.js';
import { command, configure, prog, projectRoot } from './program.js';

export function defineProjectCommands(): void {
  prog.command('init <name>')
    .describe('Create target NAME: an empty sql/NAME/ folder and envs/NAME.env.example to copy to envs/NAME.env')
    .example('init reporting')
    .action(command(async (log, _o, _signal, name) => {
      const { createTarget } = await import('../project.js');
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
        throw new DbvcError('usage', `"${name}" is not a target name`, { hint: 'use letters, digits, - and _ (for example reporting)' });
      }
      const root = projectRoot(log);
      for (const path of await createTarget(root, name)) log.result(`created ${path}`);
      log.info(`next: copy envs/${name}.env.example to envs/${name}.env and set DATABASE_URL, then dbvc revision "first change" --db ${name}`);
    }));

  prog.command('psql')
    .describe('Open psql on the target database, starting the embedded server for it (the last dbvc to leave stops it). Arguments after -- go to psql. Without psql, print a URL for another client and keep the server running until Ctrl-C')
    .example('psql').example('psql --db aiven').example('psql -- -c "select * from alembic_version"')
    .option('--db', 'Target: settings in envs/NAME.env (default local)')
    .option('--url', 'Database URL; overrides the env file and DATABASE_URL ("embedded" runs a local server)')
    .action(command(async (log, o) => {
      const { runPsql } = await import('../psql.js');
      // psql handles Ctrl-C itself (it cancels its query); dbvc only stops when it holds the server for another client
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      const stopped = new Promise<void>((resolve) => {
        process.on('SIGINT', () => resolve());
        process.on('SIGTERM', () => resolve());
      });
      return runPsql(await configure(log, o), { report: log, args: o._.map(String), stopped });
    }));
}
