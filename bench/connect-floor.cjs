// A floor for W2 and W2b (issue 6): the least a Node.js CLI using postgres.js does before reading any file.
// With several URLs (W7a's floor, issue 16), the same for each database, 8 at a time as `--parallel 8` runs them.
// Usage: node bench/connect-floor.cjs <url> [<url> ...] | node bench/connect-floor.cjs --file <urls file>
// (a Unix socket folder may come as ?host=, as libpq and dbvc read it)
const { readFileSync } = require('node:fs');
const postgres = require('postgres');

const PARALLEL = 8;

function connectAndSelect(text) {
  const url = new URL(text);
  const sql = postgres({
    host: url.searchParams.get('host') ?? url.hostname,
    port: Number(url.searchParams.get('port') ?? (url.port || 5432)),
    database: decodeURIComponent(url.pathname.slice(1)),
    username: decodeURIComponent(url.username),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    max: 1,
    fetch_types: false,
    onnotice: () => {},
  });
  return sql`select 1`.then(
    () => sql.end(),
    (error) => sql.end({ timeout: 0 }).then(() => Promise.reject(error)),
  );
}

const args = process.argv.slice(2);
const urls = args[0] === '--file' ? readFileSync(args[1], 'utf8').split('\n').filter((line) => line.trim() !== '') : args;
async function worker() {
  for (let url = urls.shift(); url !== undefined; url = urls.shift()) await connectAndSelect(url);
}
Promise.all(Array.from({ length: Math.min(PARALLEL, urls.length) }, worker)).catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
