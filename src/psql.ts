// dbvc psql: a way into a target's database, above all the embedded one, which otherwise runs only while a dbvc
// command holds it (issue 13, item 21). Starts or joins the server, then hands the terminal to psql.
import { spawn } from 'node:child_process';
import type { Reporter } from './api.js';
import type { Config } from './config.js';
import { DbvcError } from './core/errors.js';
import type { ServerAddress } from './url.js';

export interface PsqlOptions {
  report: Reporter & { result(line: string): void };
  args: string[]; // passed to psql as they are (after --)
  /** Resolves when the user wants to stop (Ctrl-C) while dbvc only holds the server open for another client. */
  stopped: Promise<void>;
}

/**
 * Runs psql against the target with the connection in PG* variables (no password on a command line), and returns
 * psql's exit code. Without psql on PATH, prints how to connect and keeps an embedded server running until `stopped`.
 */
export async function runPsql(config: Config, options: PsqlOptions): Promise<number> {
  const { address, stop } = await reach(config, options.report);
  try {
    const env = { ...process.env, ...libpqEnvironment(address) };
    const code = await spawnPsql(options.args, env);
    if (code !== undefined) return code;
    options.report.info('psql is not installed (apt-get install postgresql-client); connect with another client:');
    options.report.result(connectionUrl(address));
    if (config.server.kind !== 'embedded') return 0;
    options.report.info('the embedded server runs until Ctrl-C');
    const keepAlive = setInterval(() => {}, 60_000); // a signal listener alone does not keep node running
    await options.stopped;
    clearInterval(keepAlive);
    return 0;
  } finally {
    await stop();
  }
}

async function reach(config: Config, report: Reporter): Promise<{ address: ServerAddress; stop: () => Promise<void> }> {
  if (config.server.kind === 'url') {
    report.info(`target ${config.db}: ${config.server.display} (URL from ${config.urlSource})`);
    return { address: config.server, stop: async () => {} };
  }
  if (config.server.kind !== 'embedded') throw new Error('runPsql called without a server');
  const { startEmbedded } = await import('./embedded.js');
  const server = await startEmbedded(config.server.dataDir, report.info).catch((error: Error) => {
    throw new DbvcError('connect', `the embedded PostgreSQL for target ${config.db} did not start: ${error.message}`, { cause: error });
  });
  report.info(`target ${config.db}: embedded PostgreSQL (${server.dataDir})`);
  const address: ServerAddress = {
    host: server.socketDir, port: server.port, database: server.database, username: server.user, ssl: false, sslmode: 'disable',
    connectTimeout: 10, targetSessionAttrs: 'any', tlsFiles: {}, alternates: [], display: '',
  };
  return { address, stop: () => server.stop() };
}

/** The libpq variables psql reads: every host of the URL, the TLS files, target_session_attrs and options. */
function libpqEnvironment(a: ServerAddress): Record<string, string> {
  const all = [a, ...a.alternates];
  const env: Record<string, string> = {
    PGHOST: all.map((h) => h.host).join(','), PGPORT: all.map((h) => h.port).join(','), PGUSER: a.username,
    PGDATABASE: a.database, PGSSLMODE: a.sslmode, PGTARGETSESSIONATTRS: a.targetSessionAttrs,
  };
  if (a.password !== undefined) env.PGPASSWORD = a.password;
  if (a.options) env.PGOPTIONS = a.options;
  if (a.tlsFiles.sslrootcert) env.PGSSLROOTCERT = a.tlsFiles.sslrootcert;
  if (a.tlsFiles.sslcert) env.PGSSLCERT = a.tlsFiles.sslcert;
  if (a.tlsFiles.sslkey) env.PGSSLKEY = a.tlsFiles.sslkey;
  return env;
}

/** psql's exit code, or undefined when there is no psql to run. */
function spawnPsql(args: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', args, { stdio: 'inherit', env });
    child.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(undefined) : reject(error)));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** A URL for another client: the socket folder as host= for the embedded server; never the password. */
function connectionUrl(a: ServerAddress): string {
  const base = `postgres://${encodeURIComponent(a.username)}@`;
  if (a.host.startsWith('/')) return `${base}localhost/${encodeURIComponent(a.database)}?host=${encodeURIComponent(a.host)}&port=${a.port}`;
  return `${base}${a.host}:${a.port}/${encodeURIComponent(a.database)}?sslmode=${a.sslmode}`;
}
