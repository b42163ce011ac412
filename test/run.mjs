// Runs the whole suite on one server: TEST_DATABASE_URL if set, else an embedded PostgreSQL started here.
// Prints uvu's output and then one line "N passed, N failed" for CI.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '';

async function main() {
  let server;
  let url = process.env.TEST_DATABASE_URL;
  if (!url) {
    const { startEmbedded } = await import(resolve(root, 'dist/embedded.js'));
    server = await startEmbedded(resolve(root, '.dbvc/test'), (line) => console.error(`[embedded] ${line}`));
    url = `postgres://postgres@localhost/postgres?host=${encodeURIComponent(server.socketDir)}&port=${server.port}`;
    console.error(`[test] embedded PostgreSQL in .dbvc/test`);
  } else {
    console.error(`[test] using TEST_DATABASE_URL (${url.replace(/:[^:@/]*@/, ':***@')})`);
  }
  try {
    const { code, output } = await runUvu(url);
    const passed = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0);
    const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 0);
    // uvu counts only test.skip; tests left unregistered for a missing tool say so in one format (reportSkipped
    // in test/helpers/common.ts)
    const notes = [...output.matchAll(/^\s*\[skipped\] (\d+) tests?: (.*)$/gm)];
    const skipped = Number(/Skipped:\s+(\d+)/.exec(output)?.[1] ?? 0) + notes.reduce((n, m) => n + Number(m[1]), 0);
    // uvu's Total counts the tests that ran; skipped ones are not in it
    const failed = code === 0 ? total - passed : Math.max(1, total - passed);
    for (const note of notes) console.log(`skipped ${note[1]}: ${note[2]}`);
    console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    return code;
  } finally {
    await server?.stop();
  }
}

function runUvu(url) {
  return new Promise((done) => {
    // --no-color: uvu would set FORCE_COLOR, and every node the tests spawn with NO_COLOR would warn about the pair
    const args = ['-r', 'tsx', '--no-color', 'test', `${filter ? filter + '.*' : ''}\\.test\\.ts$`];
    const child = spawn(resolve(root, 'node_modules/.bin/uvu'), args, {
      cwd: root,
      env: { ...process.env, TEST_DATABASE_URL: url, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => done({ code: code ?? 1, output }));
  });
}

main().then((code) => process.exit(code), (error) => {
  console.error(error);
  process.exit(1);
});
