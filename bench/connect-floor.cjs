// A floor for W2 and W2b (issue 6): the least a Node.js CLI using postgres.js does before reading any file.
// Usage: node bench/connect-floor.cjs <url>  (a Unix socket folder may come as ?host=, as libpq and dbvc read it)
const postgres = require('postgres');

const url = new URL(process.argv[2]);
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
sql`select 1`.then(
  () => sql.end(),
  (error) => {
    console.error(error.message);
    process.exitCode = 1;
    return sql.end({ timeout: 0 });
  },
);
