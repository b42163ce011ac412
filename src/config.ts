// Flags + envs/<db>.env + the environment -> one frozen Config; the only place precedence is decided.
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import dotenv from 'dotenv';
import { DbvcError } from './core/errors.js';

export interface Flags {
  db?: string;
  url?: string;
  dir?: string;
  schema?: string;
  lockTimeout?: string;
  ddlLockTimeout?: string;
  ddlLockRetries?: string;
  urlsFile?: string; // a file listing the target's databases, one URL per line (a fleet)
}

export type SslSetting = false | 'prefer' | 'require' | TlsOptions;

export interface ServerAddress {
  host: string; // a host name, or a directory holding a Unix socket
  port: number;
  database: string;
  username: string;
  password?: string;
  ssl: SslSetting;
  sslmode: string;
  connectTimeout: number; // seconds
  display: string; // the URL with the password masked
}

export type Server =
  | { kind: 'embedded'; dataDir: string; display: string }
  | ({ kind: 'url' } & ServerAddress)
  | { kind: 'none'; display: string }; // commands that never connect (revision)

export interface Config {
  db: string;
  root: string;
  migrationsDir: string;
  migrationsLabel: string; // the folder as shown to people, relative to root
  server: Server;
  urlSource: string; // where the URL came from: --url, envs/<db>.env or the environment
  schema: string;
  lockTimeoutMs: number;
  ddlLockTimeoutMs?: number; // lock_timeout per migration: --ddl-lock-timeout or DBVC_DDL_LOCK_TIMEOUT in the env file
  ddlLockRetries: number;
  urlsFile?: string; // --urls-file or DBVC_URLS_FILE: the target is many databases (src/fleet/targets.ts reads it)
}

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const URL_PARAMETERS = new Set(['sslmode', 'sslrootcert', 'connect_timeout', 'host', 'port', 'application_name']);
const SSL_MODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

/** Resolves the configuration; throws a 'config' or 'usage' DbvcError that never contains a password. */
export function resolveConfig(flags: Flags, env: NodeJS.ProcessEnv, root: string, needsServer = true): Readonly<Config> {
  const db = flags.db ?? 'local';
  if (!TARGET_NAME.test(db)) {
    throw new DbvcError('usage', `--db "${db}" is not a target name`, { hint: 'use letters, digits, - and _ (for example --db aiven)' });
  }
  const migrationsDir = flags.dir ? resolve(root, flags.dir) : resolve(root, 'sql', db);
  const migrationsLabel = displayPath(root, migrationsDir);
  const schema = flags.schema ?? 'public';
  if (schema === '' || Buffer.byteLength(schema) > 63) {
    throw new DbvcError('usage', '--schema must be a name of 1 to 63 bytes', { hint: 'for example --schema public' });
  }
  const lockTimeoutMs = parseDuration(flags.lockTimeout ?? '30s', '--lock-timeout');
  const envFile = `envs/${db}.env`;
  const fromFile = readEnvFile(resolve(root, envFile), envFile);
  const ddl = ddlSettings(flags, fromFile, envFile);
  const common = { db, root, migrationsDir, migrationsLabel, schema, lockTimeoutMs, ...ddl };
  if (!needsServer) return Object.freeze({ ...common, server: { kind: 'none' as const, display: '' }, urlSource: '' });
  const urlsFile = pickUrlsFile(flags, fromFile, envFile);
  if (urlsFile) return Object.freeze({ ...common, server: { kind: 'none' as const, display: urlsFile }, urlSource: urlsFile, urlsFile });
  const { url, source } = pickUrl(flags, env, db, fromFile);
  const server = url === 'embedded' ? embeddedServer(root, db) : parseDatabaseUrl(url, source, env, root);
  return Object.freeze({ ...common, server, urlSource: source });
}

/** --ddl-lock-timeout / --ddl-lock-retries, else DBVC_DDL_LOCK_TIMEOUT / DBVC_DDL_LOCK_RETRIES in the env file; off by default. */
function ddlSettings(flags: Flags, fromFile: Record<string, string> | undefined, envFile: string): { ddlLockTimeoutMs?: number; ddlLockRetries: number } {
  const timeout = flags.ddlLockTimeout ?? fromFile?.DBVC_DDL_LOCK_TIMEOUT;
  const retries = flags.ddlLockRetries ?? fromFile?.DBVC_DDL_LOCK_RETRIES ?? '0';
  const retriesSource = flags.ddlLockRetries !== undefined ? '--ddl-lock-retries' : `DBVC_DDL_LOCK_RETRIES in ${envFile}`;
  if (!/^\d{1,3}$/.test(String(retries))) {
    throw new DbvcError('usage', `${retriesSource} "${retries}" is not a number of retries`, { hint: 'use a whole number such as 3' });
  }
  const timeoutSource = flags.ddlLockTimeout !== undefined ? '--ddl-lock-timeout' : `DBVC_DDL_LOCK_TIMEOUT in ${envFile}`;
  const ddlLockTimeoutMs = timeout === undefined || timeout === '' ? undefined : parseDuration(String(timeout), timeoutSource);
  if (ddlLockTimeoutMs === undefined || ddlLockTimeoutMs === 0) return { ddlLockRetries: Number(retries) };
  return { ddlLockTimeoutMs, ddlLockRetries: Number(retries) };
}

/**
 * --urls-file, else DBVC_URLS_FILE in the env file, unless --url names one database. An env file naming both one
 * URL and a list is refused rather than one of them chosen.
 */
function pickUrlsFile(flags: Flags, fromFile: Record<string, string> | undefined, envFile: string): string | undefined {
  if (flags.url) return undefined;
  if (flags.urlsFile !== undefined) {
    if (flags.urlsFile === '') throw new DbvcError('usage', '--urls-file needs a file', { hint: 'for example --urls-file envs/tenants.urls' });
    return flags.urlsFile;
  }
  const listed = fromFile?.DBVC_URLS_FILE;
  if (!listed) return undefined;
  if (fromFile?.DATABASE_URL) {
    throw new DbvcError('config', `${envFile} sets both DATABASE_URL and DBVC_URLS_FILE`, {
      hint: 'keep DATABASE_URL for one database or DBVC_URLS_FILE for a list of them; --url picks one database for a single run',
    });
  }
  return listed;
}

function pickUrl(flags: Flags, env: NodeJS.ProcessEnv, db: string, fromFile: Record<string, string> | undefined): { url: string; source: string } {
  if (flags.url) return { url: flags.url, source: '--url' };
  const envFile = `envs/${db}.env`;
  if (fromFile?.DATABASE_URL) return { url: fromFile.DATABASE_URL, source: envFile };
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'the DATABASE_URL environment variable' };
  const where = fromFile ? `${envFile} has no DATABASE_URL` : `${envFile} does not exist`;
  throw new DbvcError('config', `no database URL for target "${db}": ${where}, and neither --url nor DATABASE_URL is set`, {
    hint: fromFile ? `add DATABASE_URL=postgres://... to ${envFile}` : `copy envs/${db}.env.example to ${envFile} and fill it in, or pass --url`,
  });
}

/** Reads an env file with dotenv.parse (process.env is left alone); undefined when the file is absent. */
function readEnvFile(path: string, label: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DbvcError('config', `${label} cannot be read (${(error as NodeJS.ErrnoException).code})`, { file: label });
  }
  const bad = findMalformedLine(text);
  if (bad) {
    throw new DbvcError('config', `${label}:${bad} is not a KEY=value line`, { file: label, hint: 'env files hold KEY=value lines and # comments' });
  }
  return dotenv.parse(text);
}

/** Line number of the first line that is neither blank, a comment, KEY=value, nor inside a quoted value. */
function findMalformedLine(text: string): number | undefined {
  const lines = text.split(/\r?\n/);
  let openQuote: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = undefined;
      continue;
    }
    if (/^\s*(#.*)?$/.test(line)) continue;
    const match = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(["'`]?)(.*)$/.exec(line);
    if (!match) return i + 1;
    const quote = match[1];
    if (quote && !match[2].includes(quote)) openQuote = quote;
  }
  return undefined;
}

function embeddedServer(root: string, db: string): Server {
  const dataDir = resolve(root, '.dbvc', db);
  return { kind: 'embedded', dataDir, display: `embedded PostgreSQL (${displayPath(root, dataDir)})` };
}

/** Parses a postgres:// URL ourselves so postgres.js never sees it (its errors would echo the password). */
export function parseDatabaseUrl(text: string, source: string, env: NodeJS.ProcessEnv, root: string): Server {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DbvcError('config', `the database URL from ${source} is not a valid URL`, {
      hint: 'expected postgres://user:password@host:port/database; percent-encode @ : / % in the password',
    });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new DbvcError('config', `the database URL from ${source} does not start with postgres:// or postgresql://`, { hint: 'or set it to "embedded" for a local embedded server' });
  }
  // An unencoded / ? # in a password moves the rest of it into the path, query or fragment, where it would be shown
  if (url.hash || `${url.pathname}${url.search}`.includes('@')) {
    throw new DbvcError('config', `the database URL from ${source} has characters in its user or password that must be percent-encoded`, {
      hint: 'encode / as %2F, ? as %3F, # as %23, @ as %40, : as %3A and % as %25',
    });
  }
  for (const key of url.searchParams.keys()) {
    if (!URL_PARAMETERS.has(key)) {
      throw new DbvcError('config', `the database URL from ${source} has a parameter dbvc does not support: ${key}`, {
        hint: `supported: ${[...URL_PARAMETERS].join(', ')}`,
      });
    }
  }
  const query = url.searchParams;
  const host = query.get('host') ?? (url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost');
  const port = Number(query.get('port') ?? (url.port || 5432));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DbvcError('config', `the database URL from ${source} has an invalid port`, { hint: 'use a number from 1 to 65535' });
  }
  const username = decode(url.username, source) || env.PGUSER || 'postgres';
  const password = url.password ? decode(url.password, source) : undefined;
  const database = decode(url.pathname.replace(/^\//, ''), source) || username;
  const connectTimeout = parseDuration(query.get('connect_timeout') ?? '10', 'connect_timeout') / 1000;
  const isSocket = host.startsWith('/');
  const rootcert = query.get('sslrootcert');
  const sslmode = isSocket ? 'disable' : query.get('sslmode') ?? env.PGSSLMODE ?? (rootcert === 'system' ? 'verify-full' : 'prefer');
  if (!SSL_MODES.has(sslmode)) {
    throw new DbvcError('config', `sslmode=${sslmode} (from ${source}) is not a libpq sslmode`, { hint: `use one of ${[...SSL_MODES].join(', ')}` });
  }
  if (rootcert === 'system' && sslmode !== 'verify-full' && !isSocket) {
    // as libpq 16+: the system store is only trustworthy with the host name checked
    throw new DbvcError('config', `sslrootcert=system needs sslmode=verify-full, not ${sslmode} (from ${source})`, { hint: 'set sslmode=verify-full or leave sslmode out' });
  }
  const ssl = sslSetting(sslmode, rootcert, host, root);
  const display = maskUrl(url);
  return { kind: 'url', host, port, database, username, password, ssl, sslmode, connectTimeout, display };
}

function decode(part: string, source: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DbvcError('config', `the database URL from ${source} has a malformed %-escape in its user, password or database`, {
      hint: 'percent-encode % as %25',
    });
  }
}

/** libpq's sslmode semantics on top of Node's tls options. */
function sslSetting(mode: string, rootcert: string | null, host: string, root: string): SslSetting {
  if (mode === 'disable') return false;
  if (mode === 'allow' || mode === 'prefer') return 'prefer';
  if (rootcert === 'system') return { rejectUnauthorized: true, servername: host };
  const ca = rootcert ? readCa(resolve(root, rootcert), rootcert) : undefined;
  if (mode === 'require' && !ca) return 'require';
  if (mode === 'verify-full') return { rejectUnauthorized: true, ca, servername: host };
  // require with a root certificate verifies the chain, as libpq does; verify-ca skips the host name
  return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
}

function readCa(path: string, label: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new DbvcError('config', `sslrootcert ${label} cannot be read (${(error as NodeJS.ErrnoException).code})`, {
      hint: 'download the CA certificate from your provider and point sslrootcert at it (relative to the project folder)',
    });
  }
}

export function maskUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new DbvcError('usage', `${what} "${text}" is not a duration`, { hint: 'write for example 30s, 500ms or 2m' });
  const unit = match[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000;
  return Number(match[1]) * factor;
}

function displayPath(root: string, path: string): string {
  const shown = relative(root, path);
  return shown === '' ? '.' : shown.startsWith('..') || isAbsolute(shown) ? path : shown;
}
