// Flags + envs/<db>.env + the environment -> one frozen Config; the only place precedence is decided.
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { parseDuration } from './core/duration.js';
import { DbvcError } from './core/errors.js';
import { readEnvFile } from './envfile.js';
import { listTargets } from './project.js';
import { maskUrl, parseDatabaseUrl, type ServerAddress } from './url.js';

export { maskUrl, parseDatabaseUrl, type ServerAddress, type SslSetting } from './url.js';

export interface Flags {
  db?: string;
  url?: string;
  dir?: string;
  schema?: string;
  lockTimeout?: string;
  ddlLockTimeout?: string;
  ddlLockRetries?: string;
  wait?: boolean;
  waitTimeout?: string;
  urlsFile?: string; // a file listing the target's databases, one URL per line (a fleet)
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
  waitMs?: number; // --wait: how long to retry a server that refuses connections (still starting)
  urlsFile?: string; // --urls-file or DBVC_URLS_FILE: the target is many databases (src/fleet/targets.ts reads it)
}

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Resolves the configuration; throws a 'config' or 'usage' DbvcError that never contains a password. */
export function resolveConfig(flags: Flags, env: NodeJS.ProcessEnv, root: string, needsServer = true): Readonly<Config> {
  const db = flags.db ?? 'local';
  if (!TARGET_NAME.test(db)) {
    throw new DbvcError('usage', `--db "${db}" is not a target name`, { hint: 'use letters, digits, - and _ (for example --db aiven)' });
  }
  if (!flags.dir) refuseUnknownTarget(root, db);
  const migrationsDir = flags.dir ? resolve(root, flags.dir) : resolve(root, 'sql', db);
  const migrationsLabel = displayPath(root, migrationsDir);
  const envFile = `envs/${db}.env`;
  const fromFile = readEnvFile(resolve(root, envFile), envFile);
  refuseUnknownSettings(fromFile, envFile);
  const schema = flags.schema ?? fromFile?.DBVC_SCHEMA ?? 'public';
  if (schema === '' || Buffer.byteLength(schema) > 63) {
    const what = flags.schema !== undefined ? '--schema' : `DBVC_SCHEMA in ${envFile}`;
    throw new DbvcError('usage', `${what} must be a name of 1 to 63 bytes`, { hint: 'for example --schema public' });
  }
  const lockTimeoutMs = parseDuration(flags.lockTimeout ?? '30s', '--lock-timeout');
  const waitMs = flags.wait || flags.waitTimeout !== undefined ? parseDuration(flags.waitTimeout ?? '60s', '--wait-timeout') : undefined;
  const ddl = ddlSettings(flags, fromFile, envFile);
  const common = { db, root, migrationsDir, migrationsLabel, schema, lockTimeoutMs, waitMs, ...ddl };
  if (!needsServer) return Object.freeze({ ...common, server: { kind: 'none' as const, display: '' }, urlSource: '' });
  const urlsFile = pickUrlsFile(flags, fromFile, envFile);
  if (urlsFile) return Object.freeze({ ...common, server: { kind: 'none' as const, display: urlsFile }, urlSource: urlsFile, urlsFile });
  const { url, source } = pickUrl(flags, env, db, fromFile, root);
  const server = url === 'embedded' ? embeddedServer(root, db) : parseDatabaseUrl(url, source, env, root);
  return Object.freeze({ ...common, server, urlSource: source });
}

const SETTINGS = ['DBVC_SCHEMA', 'DBVC_DDL_LOCK_TIMEOUT', 'DBVC_DDL_LOCK_RETRIES', 'DBVC_URLS_FILE']; // what an env file may set besides DATABASE_URL

/** A DBVC_ key dbvc does not read is a typo or a setting from another version: never silently ignored. */
function refuseUnknownSettings(fromFile: Record<string, string> | undefined, envFile: string): void {
  const unknown = Object.keys(fromFile ?? {}).filter((key) => key.startsWith('DBVC_') && !SETTINGS.includes(key));
  if (unknown.length === 0) return;
  throw new DbvcError('config', `${envFile} sets ${unknown.join(', ')}, which dbvc does not know`, {
    file: envFile, hint: `the settings dbvc reads there: DATABASE_URL, ${SETTINGS.join(', ')}`,
  });
}

/** A target is known by its sql/NAME/ folder or its envs/NAME.env(.example); in a folder with neither, no check. */
function refuseUnknownTarget(root: string, db: string): void {
  const known = listTargets(root);
  if (known.length === 0 || known.includes(db)) return;
  throw new DbvcError('config', `unknown target "${db}": there is no sql/${db}/ and no envs/${db}.env in ${root}`, {
    hint: `known targets: ${known.join(', ')}; dbvc init ${db} creates a new one`,
  });
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

function pickUrl(flags: Flags, env: NodeJS.ProcessEnv, db: string, fromFile: Record<string, string> | undefined, root: string): { url: string; source: string } {
  if (flags.url) return { url: flags.url, source: '--url' };
  const envFile = `envs/${db}.env`;
  if (fromFile?.DATABASE_URL && env.DATABASE_URL && !isSameDatabase(fromFile.DATABASE_URL, env.DATABASE_URL)) {
    throw new DbvcError('config', `two database URLs for target "${db}" name different databases: ${envFile} says ${showUrl(fromFile.DATABASE_URL)}, the DATABASE_URL environment variable says ${showUrl(env.DATABASE_URL)}`, {
      hint: `choose with --url, or unset DATABASE_URL, or remove it from ${envFile}; nothing was run`,
    });
  }
  if (fromFile?.DATABASE_URL) return { url: fromFile.DATABASE_URL, source: envFile };
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: 'the DATABASE_URL environment variable' };
  const where = fromFile ? `${envFile} has no DATABASE_URL` : `${envFile} does not exist`;
  throw new DbvcError('config', `no database URL for target "${db}": ${where}, and neither --url nor DATABASE_URL is set`, {
    hint: fromFile ? `add DATABASE_URL=postgres://... to ${envFile}`
      : existsSync(resolve(root, `${envFile}.example`)) ? `copy ${envFile}.example to ${envFile} and fill it in, or pass --url`
        : `create ${envFile} holding DATABASE_URL=postgres://..., or pass --url`,
  });
}

/** Same server and database (user, password and options aside); anything that does not parse is never the same. */
function isSameDatabase(a: string, b: string): boolean {
  if (a === b) return true;
  const [x, y] = [a, b].map((text) => {
    try {
      const url = new URL(text);
      const query = url.searchParams;
      return [query.get('host') ?? url.hostname.toLowerCase(), query.get('port') ?? (url.port || '5432'), url.pathname].join(' ');
    } catch {
      return undefined;
    }
  });
  return x !== undefined && x === y;
}

/** A URL for a message: the password masked; one that does not parse is not shown at all. */
function showUrl(text: string): string {
  if (text === 'embedded') return 'embedded';
  try {
    return maskUrl(new URL(text));
  } catch {
    return 'a value that is not a valid URL';
  }
}

function embeddedServer(root: string, db: string): Server {
  const dataDir = resolve(root, '.dbvc', db);
  return { kind: 'embedded', dataDir, display: `embedded PostgreSQL (${displayPath(root, dataDir)})` };
}


function displayPath(root: string, path: string): string {
  const shown = relative(root, path);
  return shown === '' ? '.' : shown.startsWith('..') || isAbsolute(shown) ? path : shown;
}
