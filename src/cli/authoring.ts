// revision, baseline, import-alembic, dump, check and drift: writing migrations and schema.sql, and comparing schemas.
import { resolve } from 'node:path';
import { DbvcError } from '../core/errors.js';
import type { Log } from '../log.js';
import { addFleetOptions, addTargetOptions, command, configure, loadApi, prog, relativePath, singleOrFleet, type Options } from './program.js';

export function defineAuthoringCommands(): void {
  prog.command('revision <name>')
    .describe('Write the next NNNN_name.up.sql / .down.sql pair; with --autogenerate, drafted from an edit of sql/NAME/schema.sql')
    .option('--autogenerate', 'Draft the up (head to schema.sql) and the down (back) with @pgkit/migra, proved on a scratch database first')
    .option('--from-url', 'With --autogenerate: the desired schema is this database\'s (read-only), not schema.sql\'s; schema.sql is then rewritten as the new head')
    .option('--scratch-url', 'With --autogenerate: draft on this server (only dbvc_scratch_* databases) instead of an embedded PostgreSQL 17')
    .example('revision "add orders" --db aiven').example('revision "add sku" --autogenerate').example('revision "add sku" --autogenerate --from-url postgres://me@localhost/dev')
    .action(command(async (log, o, _signal, name) => {
      const api = await loadApi();
      const config = await configure(log, o, false);
      if (o['from-url'] !== undefined && !o.autogenerate) throw new DbvcError('usage', '--from-url goes with --autogenerate', { hint: 'add --autogenerate to draft the pair from that database' });
      if (!o.autogenerate) {
        const files = await api.revision(config, name);
        return log.result(`created ${files.up}\ncreated ${files.down}`);
      }
      const result = await api.autogenerate(config, name, { fromUrl: o['from-url'], scratchUrl: o['scratch-url'], report: log, env: process.env });
      if (!result.files) return log.result(`nothing to generate: ${o['from-url'] ? 'that database' : 'schema.sql'} equals the migrations at head`);
      log.result(`created ${result.files.up}\ncreated ${result.files.down}`);
      if (result.concurrent) log.result(`created ${result.concurrent.up}\ncreated ${result.concurrent.down}`);
      if (result.concurrent) log.info(`${result.concurrent.up} builds the new indexes of existing tables with CREATE INDEX CONCURRENTLY, outside a transaction`);
      for (const change of result.changes) log.info(`  ${change}`);
      for (const risk of result.risks) log.info(`review: may lose data: ${risk}`);
      for (const rename of result.renames) log.info(`review: possible rename: ${rename}`);
    }));
  addTargetOptions(false);

  prog.command('baseline <name>')
    .describe('Write the next up file holding the schema of a database no migration made (no down file: irreversible), proved on a scratch database first; read-only on that database unless --stamp')
    .option('--stamp', 'Also record the file as applied on that database, without running it (as dbvc stamp)')
    .option('--scratch-url', 'Prove it on this server (only dbvc_scratch_* databases) instead of an embedded PostgreSQL 17')
    .option('--json', 'Print the result as JSON')
    .example('baseline initial --db aiven').example('baseline initial --url postgres://me@prod.example.com/shop --stamp')
    .action(command(async (log, o, signal, name) => {
      const api = await loadApi();
      const result = await api.baseline(await configure(log, o), name, { stamp: Boolean(o.stamp), scratchUrl: o['scratch-url'], report: log, signal, env: process.env });
      for (const note of result.notes) log.info(`note: ${note}`);
      if (o.json) return log.json(result);
      log.result(`created ${result.file} (no down file: irreversible by design)`);
      if (result.stamped) log.result(`stamped: ${result.stamped.from ?? 'base'} -> ${result.stamped.to ?? 'base'} (the file was not run)`);
    }));
  addTargetOptions(true);

  prog.command('import-alembic <upgrade> [downgrade]')
    .describe('Turn an Alembic history into SQL pairs: give the scripts that `alembic upgrade base:head --sql` and `alembic downgrade head:base --sql` print (files, or - for standard input). Redirect them with 2>&1 to name the files after the revision messages')
    .example('import-alembic up.sql down.sql --db aiven')
    .example('import-alembic - --dir sql/neon')
    .action(command(async (log, o, _signal, upgradePath, downgradePath) => {
      const api = await loadApi();
      const fromHere = (path: string | undefined) => (path === undefined || path === '-' ? path : resolve(path));
      const result = await api.importAlembicScripts(await configure(log, o, false), fromHere(upgradePath)!, fromHere(downgradePath));
      for (const path of result.written) log.result(`wrote ${path}`);
      for (const warning of result.warnings) log.info(`warning: ${warning}`);
      log.info('review the files, then run dbvc status: a database Alembic migrated should be at head with nothing pending');
    }));
  addTargetOptions(false);

  prog.command('dump')
    .describe('Write sql/NAME/schema.sql: the schema the migrations produce at head, as plain DDL made on a scratch database (by @pgkit/migra) and verified by loading it back')
    .option('--out', 'Write FILE instead (relative to the current folder), or - for stdout')
    .option('--scratch-url', 'Make it on this server (dbvc creates and drops only dbvc_scratch_* databases there) instead of an embedded PostgreSQL 17')
    .example('dump').example('dump --db aiven').example('dump --out - > schema.sql')
    .action(command(async (log, o) => {
      if (o.out === '' || o.out === true as unknown) throw new DbvcError('usage', '--out needs a FILE or -', { hint: 'for example --out schema.sql, or --out - for stdout' });
      const api = await loadApi();
      const config = await configure(log, o, false);
      const out = o.out === undefined || o.out === '-' ? o.out : resolve(String(o.out));
      const result = await api.dump(config, { out, scratchUrl: o['scratch-url'], report: log, env: process.env });
      if (result.path === null) return log.raw(result.text);
      log.result(`wrote ${relativePath(config.root, result.path)}: the schema at ${result.head ?? 'base'}`);
    }));
  addTargetOptions(false);

  prog.command('check')
    .describe('Compare sql/NAME/schema.sql with what the migrations produce (on a scratch database): exit 0 when equal, 3 when not, 2 when there is no schema.sql')
    .option('--json', 'Print the differences as JSON')
    .option('--scratch-url', 'Compare on this server (dbvc creates and drops only dbvc_scratch_* databases there) instead of an embedded PostgreSQL 17')
    .example('check').example('check --db aiven --json').example('check --all')
    .action(command(async (log, o, signal) => {
      const single = await singleOrFleet(log, o, signal, { kind: 'check', scratchUrl: o['scratch-url'] }, false);
      if ('code' in single) return single.code;
      const api = await loadApi();
      const config = single.config;
      const result = await api.check(config, { scratchUrl: o['scratch-url'], report: log, env: process.env });
      return printComparison(log, o, result, `schema.sql equals the migrations at ${result.head ?? 'base'}`);
    }));
  addTargetOptions(false);
  addFleetOptions(false);

  prog.command('drift')
    .describe('Compare the target database\'s schema with what its recorded revision makes on a scratch database: what was changed by hand. Read-only on the target; exit 3 when anything differs')
    .option('--json', 'Print the differences as JSON')
    .option('--scratch-url', 'Build the expected schema on this server (only dbvc_scratch_* databases) instead of an embedded PostgreSQL 17')
    .example('drift --db aiven').example('drift --db aiven --json').example('drift --db tenants --parallel 8')
    .action(command(async (log, o, signal) => {
      const single = await singleOrFleet(log, o, signal, { kind: 'drift', scratchUrl: o['scratch-url'] });
      if ('code' in single) return single.code;
      const api = await loadApi();
      const config = single.config;
      const result = await api.drift(config, { scratchUrl: o['scratch-url'], report: log, env: process.env });
      return printComparison(log, o, result, `no drift: ${config.db} has the schema of ${result.revision ?? 'base'}`);
    }));
  addTargetOptions(true);
  addFleetOptions(false);
}

/** check's and drift's result: JSON, the line saying they are equal, or one line per difference; its exit code. */
function printComparison(log: Log, o: Options, result: { exitCode: number; differences: { message: string }[] }, equal: string): number {
  if (o.json) log.json(result);
  else if (result.exitCode === 0) log.result(equal);
  else for (const d of result.differences) log.result(d.message);
  return result.exitCode;
}
