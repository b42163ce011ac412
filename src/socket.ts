// The sockets of one dbvc session, opened by dbvc rather than postgres.js: TLS as libpq's sslmode says, bounded by
// connect_timeout, and once established never silently replaced (a second session would not hold the lock).
import { EventEmitter } from 'node:events';
import { connect as connectSocket, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { DbvcError } from './core/errors.js';
import { StatementWatch } from './core/wire.js';
import type { ServerAddress } from './url.js';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const CANCEL_REQUEST_CODE = 80877102;

/**
 * The sockets postgres.js uses, opened by us: TLS as libpq's sslmode says, bounded by connect_timeout. After the first
 * query the session is established; from then on a broken socket becomes one 'connect' DbvcError for every pending
 * and later query, and no new session is opened (postgres.js would reconnect silently, without our lock).
 */
export class Session {
  isEstablished = false;
  readonly watch = new StatementWatch(); // fed from the first answer after start-up, at a message boundary
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
        if (this.isEstablished) this.watch.feed(lastData); // before postgres.js reads it, so a failure's count is ready
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

export function where(address: ServerAddress): string {
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

export function timeoutError(address: ServerAddress): Error {
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
