// Opens the one session a run uses (starting the embedded server when asked): the host a multi-host URL picks, the
// pooler refusal, and one clear error for every way a connection fails (the sockets themselves: session.ts).
import type { Socket } from 'node:net';
import postgres from 'postgres';
import type { Config } from './config.js';
import type { ServerAddress, SessionAttrs } from './url.js';
import { Session, timeoutError, where } from './socket.js';
import { DbvcError } from './core/errors.js';
import { detectPooler, poolerError, refusePoolerHost } from './pooler.js';
import { probeLedger, type Db, type LedgerTables } from './store.js';

export interface Connection {
  db: Db;
  server: string; // what to show people: the masked URL or the embedded data folder
  serverVersionNum: number; // server_version_num, e.g. 170010
  sessionSetup: string; // dbvc's own session settings, applied again after every RESET ALL (see CHECK_INTERVAL)
  isStandby: boolean; // pg_is_in_recovery() when connecting
  isReadOnly: boolean; // transaction_read_only when connecting (default_transaction_read_only, or a standby)
  ledger: LedgerTables; // whether alembic_version and dbvc_history existed when connecting (store.readState)
  settled: Promise<void>; // the session setting sent after connecting; rejects with a 'connect' DbvcError if it failed
  /** How many statements of a failed multi-statement query completed before the error (StatementWatch). */
  completedBefore(error: { code?: string; message?: string }): number | undefined;
  close(): Promise<void>;
}

/**
 * PostgreSQL 14+ checks every second, while a query runs, that the client is still there, and otherwise ends the
 * session: a migration in flight when dbvc is killed is rolled back instead of committing later with nobody to
 * report it (issue 12). Older servers notice a dead client only when they next write to it.
 */
const CHECK_INTERVAL = "SET client_connection_check_interval = '1s';";

export interface ConnectHooks {
  onNotice(message: string): void;
  onInfo(line: string): void;
  /** Called once with the server as shown to people, before connecting (so it is said even when that fails). */
  onTarget(server: string): void;
}

/**
 * Connects, checks the connection with one query and refuses a transaction-mode pooler. Throws a 'connect' (or,
 * for a pooler, 'config') DbvcError without any password in it. Once open, the session never silently reconnects:
 * if it breaks, this and every later query fail with a 'connect' DbvcError, since the migration lock died with it.
 */
export async function openConnection(config: Config, hooks: ConnectHooks, applicationName: string, cancel?: AbortSignal): Promise<Connection> {
  const start = { schema: config.schema, cancel };
  if (config.server.kind === 'embedded') {
    const embedded = await startEmbeddedServer(config, config.server.dataDir, hooks);
    return connectTo(embedded.address, hooks, applicationName, start, embedded.stop);
  }
  if (config.server.kind !== 'url') throw new Error('openConnection called for a command configured without a server');
  hooks.onTarget(config.server.display);
  return connectToOneOf(config.server, hooks, applicationName, start);
}

/** What a session starts with: the schema of the ledger, and a signal that gives up connecting (the caller failed). */
interface Start {
  schema?: string;
  cancel?: AbortSignal;
}

/**
 * libpq's multi-host URL and target_session_attrs: each host in order, the first that answers and is the kind of
 * server asked for wins (prefer-standby: a standby, else any). Without a winner, the last reason is thrown.
 */
async function connectToOneOf(first: ServerAddress, hooks: ConnectHooks, applicationName: string, start: Start): Promise<Connection> {
  const candidates = [first, ...first.alternates];
  const passes: SessionAttrs[] = first.targetSessionAttrs === 'prefer-standby' ? ['standby', 'any'] : [first.targetSessionAttrs];
  let lastError: unknown;
  for (const wanted of passes) {
    for (const address of candidates) {
      refusePoolerHost(address.host, address.display);
      let connection: Connection;
      try {
        connection = await connectTo(address, hooks, applicationName, start, async () => {});
      } catch (error) {
        if (candidates.length === 1 || start.cancel?.aborted) throw error;
        lastError = error;
        continue;
      }
      const mismatch = describeMismatch(connection, wanted);
      if (!mismatch) return connection;
      await connection.close();
      lastError = new DbvcError('connect', `${where(address)} ${mismatch}, and the URL asks for target_session_attrs=${first.targetSessionAttrs}`, {
        hint: candidates.length === 1 ? 'point the URL at the right server, or drop target_session_attrs' : 'none of the hosts in the URL qualified; check which one is the primary',
      });
    }
  }
  throw lastError;
}

/** Why a server is not what target_session_attrs asks for, or undefined when it is. */
function describeMismatch(connection: Connection, wanted: SessionAttrs): string | undefined {
  if (wanted === 'read-write' && connection.isReadOnly) return 'only accepts read-only transactions';
  if (wanted === 'read-only' && !connection.isReadOnly) return 'accepts writes';
  if (wanted === 'primary' && connection.isStandby) return 'is a standby';
  if (wanted === 'standby' && !connection.isStandby) return 'is not a standby';
  return undefined;
}

/**
 * One session with one server: TLS, pooler refusal, and every failure as one clear 'connect' DbvcError. Round trips
 * are most of a short command's time once connected (bench W2, W7), so the first query also brings what the session
 * start needs (read-only state, whether the ledger tables exist), and the session setting goes out in one pipeline
 * with the caller's first queries.
 */
async function connectTo(address: ServerAddress, hooks: ConnectHooks, applicationName: string, start: Start, stopEmbedded: () => Promise<void>): Promise<Connection> {
  const session = new Session(address);
  if (start.cancel?.aborted) throw start.cancel.reason;
  const options: Options = {
    host: address.host, port: address.port, database: address.database, username: address.username, password: address.password,
    ssl: false, // TLS is negotiated by Session.open, which postgres.js calls for every socket
    connect_timeout: address.connectTimeout,
    idle_timeout: 0,
    max_lifetime: 0, // the default (30 to 60 minutes) would replace the session, and the lock with it, mid-run
    // Named prepared statements: postgres.js sends a parameterised statement that is not prepared with a Describe
    // first and waits for the answer, a round trip more each time. Safe because poolers that move a session's
    // statements between server connections (transaction and statement mode) are refused below.
    prepare: true,
    fetch_types: false, // a round trip to pg_type at every start, for array types no dbvc query returns
    // "options" is a startup parameter the server (or Neon's proxy: endpoint=...) reads, as libpq sends it
    connection: { application_name: applicationName, ...(address.options ? { options: address.options } : {}) },
    onnotice: (notice: postgres.Notice) => hooks.onNotice(formatNotice(notice)),
  };
  const db = postgres(withSocket(options, () => session.open())) as unknown as Db;
  explainLostTransactions(db, session);
  const close = async () => {
    await db.end({ timeout: session.lostError ? 0 : 5 }).catch(() => undefined); // a lost session's queries never settle
    await stopEmbedded();
  };
  const deadline = setTimeout(() => session.abort(timeoutError(address)), address.connectTimeout * 1000);
  const cancel = () => session.abort(start.cancel!.reason);
  // a scratch server's connection (review) has no ledger to look for; readState then looks itself
  const ledgerItems = start.schema === undefined ? '' : `, ${probeLedger(start.schema)}`;
  start.cancel?.addEventListener('abort', cancel, { once: true });
  try {
    const rows = await db.unsafe(`
      select pg_backend_pid() as pid, current_setting('server_version_num')::int as version, pg_is_in_recovery() as standby,
             current_setting('transaction_read_only') = 'on' as read_only${ledgerItems}`);
    clearTimeout(deadline);
    start.cancel?.removeEventListener('abort', cancel);
    session.isEstablished = true;
    const first = rows[0];
    const backendPid = Number(first.pid);
    const mode = await detectPooler({
      keyPid: (rows as unknown as { state?: { pid?: number } }).state?.pid ?? null,
      backendPid,
      probePid: () => probeBackendPid(options, address),
      ownPid: async () => Number((await db`select pg_backend_pid() as pid`)[0].pid),
    });
    if (mode === 'transaction') throw poolerError(address.display);
    const serverVersionNum = Number(first.version);
    const sessionSetup = serverVersionNum >= 140000 ? CHECK_INTERVAL : '';
    // not awaited here: it travels with the caller's first queries (the server runs it before them); see `settled`
    const settled = sessionSetup ? db.unsafe(sessionSetup).then(() => undefined, (error: unknown) => { throw explainConnectError(error, address); }) : Promise.resolve();
    settled.catch(() => undefined); // awaited by the caller (session.ts) with its first results
    const completedBefore = (error: { code?: string; message?: string }) => session.watch.completedBefore(error.code ?? '', error.message ?? '');
    return {
      db, server: address.display, serverVersionNum, sessionSetup, isStandby: first.standby === true, isReadOnly: first.read_only === true,
      ledger: { hasVersionTable: first.has_version_table === true, hasHistoryTable: first.has_history_table === true }, settled, completedBefore, close,
    };
  } catch (error) {
    clearTimeout(deadline);
    start.cancel?.removeEventListener('abort', cancel);
    await close();
    throw error instanceof DbvcError ? error : explainConnectError(error, address);
  }
}

/** Starts (or joins) the target's embedded server; names it through onTarget first, even when it fails to start. */
async function startEmbeddedServer(config: Config, wanted: string, hooks: ConnectHooks): Promise<{ address: ServerAddress; stop: () => Promise<void> }> {
  const { embeddedDataDir, startEmbedded } = await import('./embedded.js');
  // as root in a folder the postgres OS user cannot enter, the cluster lives under /var/lib/dbvc: say so
  const dir = await embeddedDataDir(wanted);
  const display = dir === wanted ? config.server.display : `embedded PostgreSQL (${dir})`;
  hooks.onTarget(display);
  const embedded = await startEmbedded(wanted, hooks.onInfo).catch((error: Error & { hint?: string }) => {
    const folder = display.replace(/^embedded PostgreSQL \((.*)\)$/, '$1');
    throw new DbvcError('connect', `the embedded PostgreSQL for target ${config.db} did not start: ${error.message}`, {
      hint: error.hint ?? `see ${folder}/server.log; deleting that folder starts the target afresh (its data is lost)`,
      cause: error,
    });
  });
  const address: ServerAddress = {
    host: embedded.socketDir, port: embedded.port, database: embedded.database, username: embedded.user,
    ssl: false as const, sslmode: 'disable', connectTimeout: 10, targetSessionAttrs: 'any', tlsFiles: {}, alternates: [], display,
  };
  return { address, stop: () => embedded.stop() };
}

/**
 * A transaction whose session broke while a parameterised query was queued is rejected by postgres.js with a bare
 * CONNECTION_CLOSED; the session's own error says what happened and what to do.
 */
function explainLostTransactions(db: Db, session: Session): void {
  const begin = db.begin.bind(db) as (...args: unknown[]) => Promise<unknown>;
  Object.assign(db, {
    begin: (...args: unknown[]) => begin(...args).catch((error: unknown) => {
      throw session.lostError ?? error;
    }),
  });
}

async function probeBackendPid(options: Options, address: ServerAddress): Promise<number> {
  const probe = postgres(withSocket(options, () => new Session(address).open()));
  try {
    return Number((await probe`select pg_backend_pid() as pid`)[0].pid);
  } finally {
    await probe.end({ timeout: 1 }).catch(() => undefined);
  }
}

type Options = postgres.Options<Record<string, never>>;

/** One connection, on sockets we open: postgres.js documents the socket option but its types leave it out. */
function withSocket(options: Options, open: () => Promise<Socket>): Options {
  return { ...options, max: 1, socket: open } as Options;
}

function formatNotice(notice: postgres.Notice): string {
  const severity = String(notice.severity ?? 'NOTICE');
  return `${severity}: ${notice.message}${notice.detail ? ` (${notice.detail})` : ''}`;
}

const CERTIFICATE_PROBLEMS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is not signed by a CA that sslrootcert trusts',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is not signed by a CA that sslrootcert trusts',
  SELF_SIGNED_CERT_IN_CHAIN: 'is signed by a CA that sslrootcert does not hold',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed and not in sslrootcert',
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'is for another host name',
};

/** One line of cause and one hint per failure people actually meet. */
/** Failures of a server that may yet come up (a container starting): --wait retries these, and only these. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOENT', '57P03', 'ECONNRESET', 'CONNECTION_CLOSED', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT']);

export function isTransient(error: unknown): boolean {
  const cause = error instanceof DbvcError && error.code === 'connect' ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' && TRANSIENT.has(cause.code);
}

export function explainConnectError(error: unknown, address: ServerAddress): DbvcError {
  const e = error as { code?: string; message?: string; reason?: string };
  const at = where(address);
  const fail = (message: string, hint: string) => new DbvcError('connect', message, { hint, cause: error });
  switch (e.code) {
    case '28P01':
    case '28000':
      return fail(`the server at ${at} rejected user "${address.username}": ${e.message}`, 'check the user and password in the database URL');
    case '3D000':
      return fail(`database "${address.database}" does not exist on ${at}`, 'check the database name in the URL, or create it');
    case 'ECONNREFUSED':
      return fail(`nothing is listening on ${at} (connection refused)`, 'check the host and port, and that the server is running');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(`the host name ${address.host} cannot be resolved`, 'check the host in the database URL');
    case 'CONNECT_TIMEOUT':
      return fail(`no answer from ${at} within ${address.connectTimeout} s`, 'check the host, port and firewall; set connect_timeout in the URL (seconds) to wait longer');
    case 'TLS_REFUSED':
      return fail(`the server at ${at} refused TLS, which sslmode=${address.sslmode} requires`, 'enable TLS (ssl = on) on the server, or use sslmode=prefer or disable for a server without TLS');
    case 'NOT_POSTGRES':
      return fail(`${at} did not answer as a PostgreSQL server does`, 'check the host and port in the database URL');
    case 'ECONNRESET':
    case 'CONNECTION_CLOSED':
      return fail(`${at} closed the connection before it was ready`, 'check that this is a PostgreSQL server and that it accepts connections (max_connections, pg_hba.conf)');
    case 'ENOENT':
      return fail(`no PostgreSQL socket in ${address.host}`, 'check that the server is running and the host folder is right');
    case '57P03':
      return fail(`the server at ${at} is starting up, shutting down or in recovery: ${e.message}`, 'try again in a moment, or let dbvc wait for it with --wait');
    case '53300':
      return fail(`the server at ${at} has no free connection slot: ${e.message}`, 'try again later, or close other sessions');
    default: {
      const problem = e.code ? CERTIFICATE_PROBLEMS[e.code] : undefined;
      if (problem || (typeof e.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL/.test(e.code))) {
        const detail = problem ?? `was not accepted: ${e.reason ?? e.message}`;
        return fail(`the TLS certificate of ${at} ${detail} (${e.code}, sslmode=${address.sslmode})`,
          'point sslrootcert at the CA certificate your provider publishes, and connect with the host name the certificate names');
      }
      return fail(`cannot connect to ${at}: ${e.message ?? String(error)}${e.code ? ` (${e.code})` : ''}`, 'check the database URL');
    }
  }
}
