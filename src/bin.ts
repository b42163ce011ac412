// The dbvc command. esbuild turns this file into dist/dbvc.cjs, and cli.ts with every package it uses into
// dist/cli.cjs (see the Makefile; tsc's dist/bin.js is never run). CommonJS on purpose: an ES module entry costs
// Node ~15 ms more to start, a third of `node -e 0` (bench W5). `dbvc --version` is answered here, without
// compiling the 250 kB bundle; everything else, including `dbvc <command> --version`, goes to the CLI.
import { VERSION } from './version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`dbvc ${VERSION}\n`); // as the CLI prints it
} else {
  require('./cli.cjs');
}
