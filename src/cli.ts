// sade wiring: argv -> Config -> api -> log. The only module that exits the process; the commands are defined by
// family in cli/ (cli/program.ts holds what they share).
import { defineAuthoringCommands } from './cli/authoring.js';
import { defineInspectingCommands } from './cli/inspecting.js';
import { defineProjectCommands } from './cli/local.js';
import { defineMovingCommands } from './cli/moving.js';
import { addValuePlaceholders, prog, type Action, type Options } from './cli/program.js';
import { defineRecordCommands } from './cli/records.js';
import { defineReviewCommand } from './cli/reviewing.js';
import { DbvcError, EXIT_CODES } from './core/errors.js';
import { createLog, type Log } from './log.js';
import { VERSION } from './version.js';

// In the order --help lists them.
defineMovingCommands();
defineInspectingCommands();
defineRecordCommands();
defineAuthoringCommands();
defineReviewCommand();
defineProjectCommands();

/** `dbvc downgrade -1`: mri would read -1 as a flag, so negative steps move behind `--` before parsing. */
export function protectNegativeSteps(argv: string[]): string[] {
  const steps = argv.slice(2).filter((a) => /^-\d+$/.test(a));
  if (steps.length === 0 || argv.includes('--')) return argv;
  return [...argv.filter((a, i) => i < 2 || !/^-\d+$/.test(a)), '--', ...steps];
}

/** `dbvc dump --out -` (stdout): mri drops a lone "-", so it becomes `--out=-` before parsing (dump only: elsewhere --out takes no -). */
export function keepDashValues(argv: string[]): string[] {
  const at = argv[2] !== 'dump' ? -1 : argv.findIndex((a, i) => a === '--out' && argv[i + 1] === '-');
  return at < 0 ? argv : [...argv.slice(0, at), '--out=-', ...argv.slice(at + 2)];
}

async function main(): Promise<number> {
  const argv = protectNegativeSteps(keepDashValues(process.argv));
  // A reader that stops early (dbvc upgrade --sql | head) closes the pipe: the run goes on, its output is dropped,
  // rather than a crash with a stack (or a migration abandoned half-way)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
  const color = process.stdout.isTTY === true && !('NO_COLOR' in process.env) && !argv.includes('--no-color');
  const log = createLog({ stdout: process.stdout, stderr: process.stderr, color });
  if (asksForVersion(argv)) {
    log.result(`dbvc ${VERSION}`);
    return 0;
  }
  addValuePlaceholders();
  const parsed = parseArguments(argv);
  if (parsed === 'usage') return EXIT_CODES.usage;
  if (!parsed) return 0; // --help was printed
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT_CODES.interrupted);
    log.info(`${signal}: stopping: the statement in flight is cancelled and its transaction rolled back (a no-transaction file keeps the statements that already ran); press Ctrl-C again to quit at once`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { action, params } = parsed.handler(...parsed.args) as { action: Action; params: unknown[] };
    const options = params[params.length - 1] as Options;
    if (parsed.name !== 'psql') refuseExtraArguments(parsed.name, options._); // psql gets its arguments after --
    const positional = params.slice(0, -1).map((p) => (p === undefined ? undefined : String(p))) as string[];
    const code = await action(log, options, controller.signal, ...positional);
    return controller.signal.aborted ? EXIT_CODES.interrupted : typeof code === 'number' ? code : 0;
  } catch (error) {
    return fail(log, error);
  }
}

/** --version or -v anywhere before a -- (sade would print "dbvc, 0.1.0"). */
function asksForVersion(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return argv.slice(2, end === -1 ? undefined : end).some((a) => a === '--version' || a === '-v');
}

/** sade leaves arguments beyond a command's own in `_`: `dbvc upgrade head extra` is a mistake, not `upgrade head`. */
function refuseExtraArguments(command: string, extra: unknown[]): void {
  if (extra.length === 0) return;
  const shown = extra.map((a) => `"${String(a)}"`).join(', ');
  throw new DbvcError('usage', `dbvc ${command} does not take ${shown}`, { hint: `see dbvc ${command} --help` });
}

/**
 * sade prints its own usage errors (unknown command or option, missing argument) and calls process.exit(1);
 * we keep its message but exit with the documented usage code.
 */
function parseArguments(argv: string[]) {
  const exit = process.exit;
  process.exit = (() => { throw USAGE; }) as typeof process.exit;
  try {
    // values stay strings: mri would turn --db 2024 or --lock-timeout 30 into numbers
    return prog.parse(argv, { lazy: true, string: STRING_OPTIONS, default: { color: true }, unknown: (flag: string) => `unknown option ${flag}` });
  } catch (error) {
    if (error === USAGE) return 'usage';
    throw error;
  } finally {
    process.exit = exit;
  }
}

const USAGE = Symbol('usage');
const STRING_OPTIONS = ['db', 'url', 'dir', 'schema', 'lock-timeout', 'ddl-lock-timeout', 'ddl-lock-retries', 'out', 'wait-timeout', 'scratch-url', 'from-url', 'fail-on', 'since-git', 'html', 'urls-file', 'parallel', 'canary'];

function fail(log: Log, error: unknown): number {
  log.error(error);
  return error instanceof DbvcError ? EXIT_CODES[error.code] : 70;
}

process.exitCode = 70; // if main() never settled (a promise nobody resolves), the run did not succeed
main().then((code) => {
  process.exitCode = code;
}, (error) => {
  process.stderr.write(`internal error: ${String(error)}\n`);
  process.exitCode = 70;
});
