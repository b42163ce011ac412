// Opens the one session a run uses (starting the embedded server when asked): the socket, TLS as sslmode says,
// pooler refusal, and one clear error for every way a connection fails or breaks.
import { EventEmitter } from 'node:events';
import { connect as connectSocket, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import postgres from 'postgres';
import type { Config } from './config.js';
import type { ServerAddress, SessionAttrs } from './url.js';
import { DbvcError } from './core/errors.js';
import { detectPooler, poolerError, refusePoolerHost } from './pooler.js';
import type { Db } from './store.js';

export interface Connection {
  db: Db;
  server: string; // what to show people: the masked URL or the embedded data folder
  close(): Promise<void>;
}

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
export async function openConnection(config: Config, hooks: ConnectHooks, applicationName: string): Promise<Connection> {
  if (config.server.kind === 'embedded') {
    const embedded = await startEmbeddedServer(config, config.server.dataDir, hooks);
    return connectTo(embedded.address, hooks, applicationName, embedded.stop);
  }
  if (config.server.kind !== 'url') throw new Error('openConnection called for a command configured without a server');
  hooks.onTarget(config.server.display);
  return connectToOneOf(config.server, hooks, applicationName);
}

/**
 * libpq's multi-host URL and target_session_attrs: each host in order, the first that answers and is the kind of
 * server asked for wins (prefer-standby: a standby, else any). Without a winner, the last reason is thrown.
 */
async function connectToOneOf(first: ServerAddress, hooks: ConnectHooks, applicationName: string): Promise<Connection> {
  const candidates = [first, ...first.alternates];
  const passes: SessionAttrs[] = first.targetSessionAttrs === 'prefer-standby' ? ['standby', 'any'] : [first.targetSessionAttrs];
  let lastError: unknown;
  for (const wanted of passes) {
    for (const address of candidates) {
      refusePoolerHost(address.host, address.display);
      let connection: Connection;
      try {
        connection = await connectTo(address, hooks, applicationName, async () => {});
      } catch (error) {
        if (candidates.length === 1) throw error;
        lastError = error;
        continue;
      }
      const mismatch = wanted === 'any' ? undefined : await describeMismatch(connection.db, wanted);
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
async function describeMismatch(db: Db, wanted: SessionAttrs): Promise<string | undefined> {
  const [state] = await db`select pg_is_in_recovery() as standby, current_setting('transaction_read_only') = 'on' as read_only`;
  if (wanted === 'read-write' && state.read_only) return 'only accepts read-only transactions';
  if (wanted === 'read-only' && !state.read_only) return 'accepts writes';
  if (wanted === 'primary' && state.standby) return 'is a standby';
  if (wanted === 'standby' && !state.standby) return 'is not a standby';
  return undefined;
}

/** One session with one server: TLS, pooler refusal, and every failure as one clear 'connect' DbvcError. */
async function connectTo(address: ServerAddress, hooks: ConnectHooks, applicationName: string, stopEmbedded: () => Promise<void>): Promise<Connection> {
  const session = new Session(address);
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
  try {
    const first = await db`select pg_backend_pid() as pid`;
    clearTimeout(deadline);
    session.isEstablished = true;
    const backendPid = Number(first[0].pid);
    const mode = await detectPooler({
      keyPid: (first as unknown as { state?: { pid?: number } }).state?.pid ?? null,
      backendPid,
      probePid: () => probeBackendPid(options, address),
      ownPid: async () => Number((await db`select pg_backend_pid() as pid`)[0].pid),
    });
    if (mode === 'transaction') throw poolerError(address.display);
  } catch (error) {
    clearTimeout(deadline);
    await close();
    throw error instanceof DbvcError ? error : explainConnectError(error, address);
  }
  return { db, server: address.display, close };
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

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const CANCEL_REQUEST_CODE = 80877102;

/**
 * The sockets postgres.js uses, opened by us: TLS as libpq's sslmode says, bounded by connect_timeout. After the first
 * query the session is established; from then on a broken socket becomes one 'connect' DbvcError for every pending
 * and later query, and no new session is opened (postgres.js would reconnect silently, without our lock).
 */
class Session {
  isEstablished = false;
  private lost: DbvcError | undefined;

  /** Set once an established session broke: the error every query since then has failed with. */
  get lostError(): DbvcError | undefined {
    return this.lost;
  }

  private hasOpened = false;
  private readonly controller = new AbortController();
  private current: Socket | undefined;
  private firstData: Buffer | undefined;

  constructor(private readonly address: ServerAddress) {}

  /** Fails the connection attempt (or the socket) in progress with `error`. */
  abort(error: Error): void {
    this.controller.abort(error);
    this.current?.destroy(error);
  }

  async open(): Promise<Socket> {
    // No second session: postgres.js would open one, without end for a connection closed during start-up (libpq
    // gives up), and silently without our lock after a break. It gets a socket that fails its query at once.
    if (this.lost) return deadSocket(this.lost);
    if (this.hasOpened && !this.isEstablished) return deadSocket(this.closedDuringStartup());
    const isFirst = !this.hasOpened;
    this.hasOpened = true;
    const signal = isFirst ? this.controller.signal : AbortSignal.timeout(this.address.connectTimeout * 1000);
    const plain = await connectPlain(this.address, signal);
    const socket = this.address.ssl === false ? plain : await negotiateTls(plain, this.address, signal);
    if (isFirst) {
      this.current = socket;
      this.guard(socket);
    } else if (this.isEstablished) {
      this.allowCancelOnly(socket);
    }
    return socket;
  }

  /** Why the server closed the connection before it was ready, as explainConnectError reads it. */
  private closedDuringStartup(): Error {
    const first = this.firstData?.[0];
    const isPostgres = first === undefined || [0x52, 0x45, 0x76, 0x4e].includes(first); // R(auth) E(rror) v(ersion) N(otice)
    return Object.assign(new Error('closed during start-up'), { code: isPostgres ? 'CONNECTION_CLOSED' : 'NOT_POSTGRES' });
  }

  /** A later socket may carry a CancelRequest (Ctrl-C), never a second session: that one would not hold our lock. */
  private allowCancelOnly(socket: Socket): void {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      socket.write = write as Socket['write'];
      if (Buffer.isBuffer(chunk) && chunk.length >= 8 && chunk.readUInt32BE(4) === CANCEL_REQUEST_CODE) return write(chunk, ...rest);
      this.lost ??= new DbvcError('connect', `the session with ${where(this.address)} ended, and dbvc does not open a second one mid-run`, {
        hint: 'its migration lock belonged to the first session; run dbvc status, then run the command again',
      });
      socket.destroy(this.lost);
      return false;
    }) as Socket['write'];
  }

  /**
   * Turns the end of an established session into an 'error' carrying our DbvcError, and delivers 'close' two turns
   * later, once the queries that error made the caller send (a ROLLBACK) have failed too: postgres.js, told of a
   * close first, writes them to a socket it has already dropped and crashes the process (TypeError in nextWrite).
   */
  private guard(socket: Socket): void {
    let isClosingByUs = false;
    let lastData: Buffer | undefined;
    const emit = socket.emit.bind(socket) as (event: string, ...args: unknown[]) => boolean;
    const end = socket.end.bind(socket) as (...args: unknown[]) => Socket;
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.end = ((...args: unknown[]) => {
      isClosingByUs ||= !this.lost; // Node itself ends the socket after the server's FIN
      return end(...args);
    }) as Socket['end'];
    socket.write = ((...args: unknown[]) => {
      if (!this.lost) return write(...args);
      const lost = this.lost;
      process.nextTick(() => emit('error', lost));
      return false;
    }) as Socket['write'];
    socket.emit = ((event: string, ...args: unknown[]) => {
      if (event === 'data') {
        lastData = args[0] as Buffer;
        this.firstData ??= lastData;
      }
      if (!this.isEstablished || isClosingByUs) return emit(event, ...args);
      if (event === 'end' || event === 'error') {
        if (!this.lost) {
          this.lost = sessionLost(this.address, args[0] as NodeJS.ErrnoException | undefined, lastData);
          emit('error', this.lost);
        }
        return true;
      }
      if (event === 'close') {
        setImmediate(() => setImmediate(() => emit('close', true)));
        return true;
      }
      return emit(event, ...args);
    }) as Socket['emit'];
  }
}

/**
 * A socket that fails with `error` as soon as postgres.js has attached its listeners. Throwing from the socket
 * factory instead would fail only the query that asked for the connection and strand the others queued behind it
 * (a process that then exits 0 with a promise never settled); a failed socket makes postgres.js try the next
 * queued query, which fails the same way, until none is left.
 */
function deadSocket(error: Error): Socket {
  const socket = Object.assign(new EventEmitter(), {
    readyState: 'closed',
    write: () => true,
    end: () => socket,
    destroy: () => socket,
  });
  setImmediate(() => {
    socket.emit('error', error);
    socket.emit('close', true);
  });
  return socket as unknown as Socket;
}

function where(address: ServerAddress): string {
  return address.host.startsWith('/') ? `the socket in ${address.host}` : `${address.host}:${address.port}`;
}

function connectPlain(address: ServerAddress, signal: AbortSignal): Promise<Socket> {
  const isUnix = address.host.startsWith('/');
  const socket = isUnix ? connectSocket({ path: `${address.host}/.s.PGSQL.${address.port}` }) : connectSocket({ host: address.host, port: address.port });
  return settle(socket, 'connect', signal);
}

/** Sends SSLRequest and upgrades to TLS when the server answers S; refuses, or carries on in plain text for prefer. */
async function negotiateTls(socket: Socket, address: ServerAddress, signal: AbortSignal): Promise<Socket> {
  socket.write(SSL_REQUEST);
  const answer = await readAnswer(socket, signal);
  if (answer.length !== 1 || (answer[0] !== 0x53 && answer[0] !== 0x4e)) {
    socket.destroy();
    throw Object.assign(new Error('unexpected answer to SSLRequest'), { code: 'NOT_POSTGRES' });
  }
  if (answer[0] === 0x4e) {
    if (address.ssl === 'prefer') return socket;
    socket.destroy();
    throw Object.assign(new Error('the server does not accept TLS'), { code: 'TLS_REFUSED' });
  }
  const verified = typeof address.ssl === 'object' ? address.ssl : { rejectUnauthorized: false };
  const options: ConnectionOptions = { ...verified, ...address.clientCert, socket };
  if (options.servername && isIP(options.servername)) {
    // Node warns about an IP address in SNI and checks the certificate against `host` instead (DEP0123)
    options.host = options.servername;
    delete options.servername;
  } else if (options.servername === undefined && !isIP(address.host)) {
    options.servername = address.host; // SNI: Neon routes connections by it
  }
  socket.on('error', () => {}); // the TLS socket reports its errors
  return settle(connectTls(options), 'secureConnect', signal);
}

/** The server's one-byte answer to SSLRequest (more than one byte is refused above: nothing may be injected). */
function readAnswer(socket: Socket, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error?: unknown, data?: Buffer) => {
      socket.removeAllListeners();
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve(data!);
      socket.destroy();
      reject(error);
    };
    const onAbort = () => done(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('data', (data: Buffer) => done(undefined, data));
    socket.once('error', (error) => done(error));
    socket.once('close', () => done(Object.assign(new Error('closed'), { code: 'ECONNRESET' })));
  });
}

/** Resolves with the socket on `event`; rejects on its error or when the signal fires (destroying it). */
function settle<T extends Socket>(socket: T, event: string, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      socket.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once(event, () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function timeoutError(address: ServerAddress): Error {
  return Object.assign(new Error(`no answer within ${address.connectTimeout} s`), { code: 'CONNECT_TIMEOUT' });
}

/** The FATAL message a server sent before closing (ErrorResponse 'E' with severity FATAL or PANIC), if any. */
function fatalMessage(data: Buffer | undefined): string | undefined {
  let found: string | undefined;
  for (let at = 0; data && at + 5 <= data.length;) {
    const length = data.readUInt32BE(at + 1);
    const end = at + 1 + length;
    if (end > data.length || length < 4) break;
    if (data[at] === 0x45) {
      const fields = new Map(data.subarray(at + 5, end).toString('utf8').split('\0').filter(Boolean).map((f) => [f[0], f.slice(1)]));
      if (/^(FATAL|PANIC)$/.test(fields.get('V') ?? fields.get('S') ?? '')) found = fields.get('M');
    }
    at = end;
  }
  return found;
}

function sessionLost(address: ServerAddress, error: NodeJS.ErrnoException | undefined, lastData: Buffer | undefined): DbvcError {
  const code = error?.code;
  const closed = code === undefined || code === 'ECONNRESET' || code === 'EPIPE';
  const reason = fatalMessage(lastData) ?? (closed ? `the server closed the connection${code ? ` (${code})` : ''}` : `the connection broke (${code})`);
  return new DbvcError('connect', `lost the connection to ${where(address)}: ${reason}`, {
    hint: 'a migration is committed together with its bookkeeping or not at all; dbvc never reconnects mid-run (its lock belonged to that session), so run dbvc status once the server is back, then run the command again',
  });
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
