// A postgres:// URL -> the server addresses to try, as libpq reads it: the URL first, then PG* environment variables,
// then ~/.pgpass for the password. Parsed here so postgres.js never sees the URL (its errors would echo the password).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { parseDuration } from './core/duration.js';
import { DbvcError } from './core/errors.js';
import { lookupPgpass } from './pgpass.js';

export type SslSetting = false | 'prefer' | 'require' | TlsOptions;
export type SessionAttrs = 'any' | 'read-write' | 'primary' | 'read-only' | 'standby' | 'prefer-standby';

export interface ServerAddress {
  host: string; // a host name, or a directory holding a Unix socket
  port: number;
  database: string;
  username: string;
  password?: string;
  ssl: SslSetting;
  sslmode: string;
  clientCert?: { cert: string; key: string }; // sslcert / sslkey
  tlsFiles: { sslrootcert?: string; sslcert?: string; sslkey?: string }; // the paths, resolved, for psql (dbvc psql)
  options?: string; // the "options" startup parameter: Neon's endpoint=..., or -c settings
  connectTimeout: number; // seconds
  targetSessionAttrs: SessionAttrs;
  alternates: ServerAddress[]; // the further hosts of a multi-host URL, tried in order
  display: string; // the URL with the password masked
}

const URL_PARAMETERS = new Set(['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'connect_timeout', 'host', 'port', 'dbname', 'user',
  'application_name', 'options', 'target_session_attrs']);
const SSL_MODES = new Set(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);
const SESSION_ATTRS = new Set(['any', 'read-write', 'primary', 'read-only', 'standby', 'prefer-standby']);

/**
 * Parses a postgres:// URL (several hosts as libpq writes them: h1:5432,h2:5433 or ?host=h1,h2). What the URL leaves
 * out comes from PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY,
 * PGCONNECT_TIMEOUT, PGOPTIONS and PGTARGETSESSIONATTRS, then the password from PGPASSFILE or ~/.pgpass.
 * Throws a 'config' DbvcError that never contains the password.
 */
export function parseDatabaseUrl(text: string, source: string, env: NodeJS.ProcessEnv, root: string): { kind: 'url' } & ServerAddress {
  const split = /^(postgres(?:ql)?:\/\/)([^/?#]*@)?([^/?#@]*)(.*)$/s.exec(text);
  const hostList = split?.[3] ?? '';
  const url = parseUrl(split ? `${split[1]}${split[2] ?? ''}${hostList.split(',')[0]}${split[4]}` : text, source);
  refuseUnsupported(url, source);
  const query = url.searchParams;
  const used: string[] = []; // the PG* variables that filled a gap, named in the display
  const fromEnv = (variable: string) => {
    const value = env[variable] || undefined;
    if (value !== undefined && !variable.includes('PASS')) used.push(`${variable}=${value}`);
    return value;
  };
  const param = (key: string, variable: string) => query.get(key) ?? fromEnv(variable);
  const username = query.get('user') ?? (decode(url.username, source) || fromEnv('PGUSER') || 'postgres');
  const database = query.get('dbname') ?? (decode(url.pathname.replace(/^\//, ''), source) || fromEnv('PGDATABASE') || username);
  const hosts = listHosts(query.get('host') ?? (hostList || fromEnv('PGHOST') || 'localhost'), query.get('port') ?? (url.port ? undefined : fromEnv('PGPORT')), source);
  const attrs = param('target_session_attrs', 'PGTARGETSESSIONATTRS') ?? 'any';
  if (!SESSION_ATTRS.has(attrs)) {
    throw new DbvcError('config', `target_session_attrs=${attrs} (from ${source}) is not a libpq value`, { hint: `use one of ${[...SESSION_ATTRS].join(', ')}` });
  }
  const [sslmode, rootcert, sslcert, sslkey] = [param('sslmode', 'PGSSLMODE'), param('sslrootcert', 'PGSSLROOTCERT'), param('sslcert', 'PGSSLCERT'), param('sslkey', 'PGSSLKEY')];
  const inProject = (path: string | undefined) => (path === undefined || path === 'system' ? path : resolve(root, path));
  const common = {
    database, username, targetSessionAttrs: attrs as SessionAttrs, options: param('options', 'PGOPTIONS'),
    connectTimeout: parseDuration(param('connect_timeout', 'PGCONNECT_TIMEOUT') ?? '10', 'connect_timeout') / 1000,
    clientCert: readClientCert(sslcert, sslkey, root),
    tlsFiles: { sslrootcert: inProject(rootcert), sslcert: inProject(sslcert), sslkey: inProject(sslkey) },
  };
  const urlPassword = url.password ? decode(url.password, source) : undefined;
  const display = used.length === 0 ? maskUrl(text) : `${maskUrl(text)} with ${used.join(', ')}`;
  const addresses = hosts.map(({ host, port }) => {
    const password = urlPassword ?? (env.PGPASSWORD || undefined) ?? lookupPgpass(env, { host, port, database, username });
    return { ...common, host, port, password, ...tlsFor(host, sslmode, rootcert, source, root), display, alternates: [] };
  });
  return { kind: 'url', ...addresses[0], alternates: addresses.slice(1) };
}

function parseUrl(text: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DbvcError('config', `the database URL from ${source} is not a valid URL`, {
      hint: 'expected postgres://user:password@host:port/database; percent-encode @ : / % # in the password',
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
  return url;
}

function refuseUnsupported(url: URL, source: string): void {
  for (const key of url.searchParams.keys()) {
    if (key === 'password') {
      throw new DbvcError('config', `the database URL from ${source} has a password parameter, which dbvc refuses: query parameters end up in logs`, {
        hint: 'put the password in the URL (postgres://user:PASSWORD@host/db), in PGPASSWORD or in ~/.pgpass',
      });
    }
    if (!URL_PARAMETERS.has(key)) {
      throw new DbvcError('config', `the database URL from ${source} has a parameter dbvc does not support: ${key}`, {
        hint: `supported: ${[...URL_PARAMETERS].join(', ')}`,
      });
    }
  }
}

/** "h1:5432,h2" or "[::1]:5433" with an optional port list ("5432,5433", or one port for all), as libpq pairs them. */
function listHosts(hostText: string, portText: string | undefined, source: string): { host: string; port: number }[] {
  const hosts = hostText.split(',').map((entry) => {
    const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(entry)!;
    return { host: decode(match[1].replace(/^\[(.*)\]$/, '$1'), source) || 'localhost', port: match[2] };
  });
  const ports = portText?.split(',') ?? [];
  if (ports.length > 1 && ports.length !== hosts.length) {
    throw new DbvcError('config', `the database URL from ${source} names ${hosts.length} hosts but ${ports.length} ports`, { hint: 'give one port, or one per host' });
  }
  return hosts.map((h, i) => {
    const port = Number(h.port || ports[ports.length === 1 ? 0 : i] || 5432);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new DbvcError('config', `the database URL from ${source} has an invalid port`, { hint: 'use a number from 1 to 65535' });
    }
    return { host: h.host, port };
  });
}

function tlsFor(host: string, mode: string | undefined, rootcert: string | undefined, source: string, root: string): { ssl: SslSetting; sslmode: string } {
  const isSocket = host.startsWith('/');
  const sslmode = isSocket ? 'disable' : mode ?? (rootcert === 'system' ? 'verify-full' : 'prefer');
  if (!SSL_MODES.has(sslmode)) {
    throw new DbvcError('config', `sslmode=${sslmode} (from ${source}) is not a libpq sslmode`, { hint: `use one of ${[...SSL_MODES].join(', ')}` });
  }
  if (rootcert === 'system' && sslmode !== 'verify-full' && !isSocket) {
    // as libpq 16+: the system store is only trustworthy with the host name checked
    throw new DbvcError('config', `sslrootcert=system needs sslmode=verify-full, not ${sslmode} (from ${source})`, { hint: 'set sslmode=verify-full or leave sslmode out' });
  }
  return { ssl: sslSetting(sslmode, rootcert, host, root), sslmode };
}

function decode(part: string, source: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DbvcError('config', `the database URL from ${source} has a malformed %-escape in its user, password, host or database`, {
      hint: 'percent-encode % as %25',
    });
  }
}

/** libpq's sslmode semantics on top of Node's tls options. */
function sslSetting(mode: string, rootcert: string | undefined, host: string, root: string): SslSetting {
  if (mode === 'disable') return false;
  if (mode === 'allow' || mode === 'prefer') return 'prefer';
  if (rootcert === 'system') return { rejectUnauthorized: true, servername: host };
  const ca = rootcert ? readTlsFile(resolve(root, rootcert), `sslrootcert ${rootcert}`, CA_HINT) : undefined;
  if (mode === 'require' && !ca) return 'require';
  if (mode === 'verify-full') return { rejectUnauthorized: true, ca, servername: host };
  // require with a root certificate verifies the chain, as libpq does; verify-ca skips the host name
  return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
}

/** sslcert and sslkey (paths relative to the project folder) come as a pair, as a client certificate needs both. */
function readClientCert(cert: string | undefined, key: string | undefined, root: string): { cert: string; key: string } | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    throw new DbvcError('config', `${cert ? 'sslcert' : 'sslkey'} is set without ${cert ? 'sslkey' : 'sslcert'}`, { hint: 'a client certificate needs both: the certificate and its private key' });
  }
  return { cert: readTlsFile(resolve(root, cert), `sslcert ${cert}`, CERT_HINT), key: readTlsFile(resolve(root, key), `sslkey ${key}`, CERT_HINT) };
}

const CA_HINT = 'download the CA certificate from your provider and point sslrootcert at it (relative to the project folder)';
const CERT_HINT = 'point sslcert and sslkey at the client certificate and its private key (relative to the project folder)';

function readTlsFile(path: string, label: string, hint: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new DbvcError('config', `${label} cannot be read (${(error as NodeJS.ErrnoException).code})`, { hint });
  }
}

/** The URL as shown to people: its password, if any, replaced by ***; every host of a multi-host URL kept. */
export function maskUrl(url: URL | string): string {
  const text = typeof url === 'string' ? url : url.href;
  const match = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)([^/?#]*)@/i.exec(text);
  if (!match || match[2] === '') return typeof url === 'string' ? normalise(text) : text;
  return normalise(`${match[1]}***@${text.slice(match[0].length)}`);
}

/** new URL(...).href for a one-host URL (as dbvc has always shown it); a multi-host URL as written. */
function normalise(text: string): string {
  try {
    return new URL(text).href.replace('%2A%2A%2A@', '***@');
  } catch {
    return text;
  }
}
