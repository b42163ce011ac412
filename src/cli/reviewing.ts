// review: the rehearsal on a scratch database, printed, as JSON, as an annotated script or as a page.
import type * as Api from '../api.js';
import type { Config } from '../config.js';
import { DbvcError } from '../core/errors.js';
import type { Severity } from '../core/review.js';
import { printReview, type Log } from '../log.js';
import { addFleetOptions, addTargetOptions, command, loadApi, prog, singleOrFleet, writeInChunks, type Options } from './program.js';

export function defineReviewCommand(): void {
  prog.command('review [range]')
    .describe('Rehearse migrations on a scratch database: the locks and rewrites of each statement, the schema changes, whether the down file reverts the up, and squawk\'s findings. RANGE (FROM:TO as for upgrade --sql) needs no target; without it, what upgrade would apply to the target')
    .option('--json', 'Print the review as JSON (the contract in the README)')
    .option('--scratch-url', 'Rehearse on this server (dbvc creates and drops only dbvc_scratch_* databases there) instead of an embedded PostgreSQL 17')
    .option('--fail-on', 'Exit 3 on findings at or above this severity: error (default), warning or note')
    .option('--ddl-lock-timeout', 'The lock_timeout the real run sets (silences squawk\'s require-lock-timeout)')
    .option('--since-git', 'Instead of RANGE: the migrations whose files were added or changed since this git commit (what a pull request adds)')
    .option('--html', 'Also write the review as one self-contained HTML page: FILE, or DIR/ for DIR/index.html')
    .option('--sql', 'Print the upgrade script of the range (as upgrade --sql), each statement preceded by comments: its locks, rewrites and findings')
    .option('--out', 'With --sql: write the script to FILE, or one file per migration into DIR/')
    .example('review').example('review 0041:0042 --json').example('review base:head --scratch-url postgres://postgres@localhost/postgres').example('review --all')
    .action(command(async (log, o, signal, range) => {
      if (o.sql && o.json) throw new DbvcError('usage', '--sql and --json exclude each other', { hint: 'pick one: the annotated script or the JSON report' });
      if (o.out !== undefined && !o.sql) throw new DbvcError('usage', '--out goes with --sql', { hint: 'add --sql to write the annotated script' });
      if (o.html === '' || o.html === true as unknown) throw new DbvcError('usage', '--html needs a FILE or a DIR/', { hint: 'for example --html review.html, or --html out/ for out/index.html' });
      if (range !== undefined && o['since-git'] !== undefined) throw new DbvcError('usage', 'a RANGE and --since-git exclude each other', { hint: 'give one: dbvc review 0041:head, or dbvc review --since-git origin/main' });
      const failOn = o['fail-on'] ?? 'error';
      if (failOn !== 'error' && failOn !== 'warning' && failOn !== 'note') {
        throw new DbvcError('usage', `--fail-on ${String(failOn)} is not a severity`, { hint: 'use error, warning or note' });
      }
      const oneTargetOnly = o.html !== undefined ? '--html' : o.sql ? '--sql' : undefined;
      const fleetReview = { kind: 'review' as const, scratchUrl: o['scratch-url'], range, sinceGit: o['since-git'], failOn: failOn as Severity, oneTargetOnly };
      const single = await singleOrFleet(log, o, signal, fleetReview, range === undefined && o['since-git'] === undefined);
      if ('code' in single) return single.code;
      const api = await loadApi();
      const config = single.config;
      const result = await api.review(config, { range, sinceGit: o['since-git'], scratchUrl: o['scratch-url'], failOn, report: log, signal, env: process.env });
      if (o.html !== undefined) await writePage(log, String(o.html), result.report);
      if (o.sql) await writeReviewScript(log, o, api, config, result.report);
      else if (o.json) log.json(result.report);
      else printReview(log, result.report, failOn);
      return result.exitCode;
    }));
  addTargetOptions(true);
  addFleetOptions(false);
}

/** The review as one self-contained HTML page (issue 17); highlight.js loads only here. */
async function writePage(log: Log, fileOrDir: string, report: Api.ReviewReport): Promise<void> {
  const { writeReviewPage } = await import('../review/page-file.js');
  const path = await writeReviewPage(report, fileOrDir);
  log.info(`wrote the review page ${path} (verdict ${report.verdict})`);
}

async function writeReviewScript(log: Log, o: Options, api: typeof Api, config: Config, report: Api.ReviewReport): Promise<void> {
  const files = await api.renderReviewScript(config, report);
  if (o.out === undefined) return writeInChunks(log, files.map((f, i) => (i === 0 ? f.text : `\n${f.text}`)));
  const script = { from: report.range.from, to: report.range.to, steps: report.migrations.length, files };
  const written = await api.saveOffline(script, String(o.out), config.root);
  log.info(`wrote ${written.length === 1 ? written[0] : `${written.length} files into ${String(o.out)}`}: review of ${report.range.from ?? 'base'} -> ${report.range.to ?? 'base'} (verdict ${report.verdict})`);
}
