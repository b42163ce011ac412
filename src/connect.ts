// Opens the one connection a run uses (starting the embedded server when asked) and explains connection failures.
import postgres from 'postgres';
import type { Config, ServerAddress } from './config.js';
import { DbvcError } from './core/errors.js';
import type { Db } from './store.js';

export interface Connection {
  db: Db;
  server: string; // what to show people: the masked URL or the embedded data folder
  close(): Promise<void>;
}

export interface ConnectHooks {
  onNotice(message: string): void;
  onInfo(line: string): void;
}

/** Connects and checks the connection with one query; throws a 'connect' DbvcError without any password in it. */
export async function openConnection(config: Config, hooks: ConnectHooks, applicationName: string): Promise<Connection> {
  let address: ServerAddress;
  let stopEmbedded = async () => {};
  if (config.server.kind === 'embedded') {
    const { startEmbedded } = await import('./embedded.js');
    const embedded = await startEmbedded(config.server.dataDir, hooks.onInfo).catch((error: Error) => {
      throw new DbvcError('connect', `the embedded PostgreSQL for target ${config.db} did not start: ${error.message}`, {
        hint: `see ${config.server.display.replace(/^embedded PostgreSQL \((.*)\)$/, '$1')}/server.log; deleting that folder starts the target afresh (its data is lost)`,
        cause: error,
      });
    });
    stopEmbedded = () => embedded.stop();
    address = {
      host: embedded.socketDir, port: embedded.port, database: embedded.database, username: embedded.user,
      ssl: false, sslmode: 'disable', connectTimeout: 10, display: config.server.display,
    };
  } else if (config.server.kind === 'url') {
    address = config.server;
  } else {
    throw new Error('openConnection called for a command configured without a server');
  }
  const db = postgres({
    host: address.host,
    port: address.port,
    database: address.database,
    username: address.username,
    password: address.password,
    ssl: address.ssl,
    max: 1,
    connect_timeout: address.connectTimeout,
    idle_timeout: 0,
    prepare: false,
    connection: { application_name: applicationName },
    onnotice: (notice) => hooks.onNotice(formatNotice(notice)),
  }) as unknown as Db;
  const close = async () => {
    await db.end({ timeout: 5 }).catch(() => undefined);
    await stopEmbedded();
  };
  try {
    await db`select 1`;
  } catch (error) {
    await close();
    throw explainConnectError(error, address);
  }
  return { db, server: address.display, close };
}

function formatNotice(notice: postgres.Notice): string {
  const severity = String(notice.severity ?? 'NOTICE');
  return `${severity}: ${notice.message}${notice.detail ? ` (${notice.detail})` : ''}`;
}

/** One line of cause and one hint per failure people actually meet. */
export function explainConnectError(error: unknown, address: ServerAddress): DbvcError {
  const e = error as { code?: string; message?: string; errno?: string };
  const where = address.host.startsWith('/') ? `the socket in ${address.host}` : `${address.host}:${address.port}`;
  const fail = (message: string, hint: string) => new DbvcError('connect', message, { hint });
  switch (e.code) {
    case '28P01':
    case '28000':
      return fail(`the server at ${where} rejected user "${address.username}": ${e.message}`, 'check the user and password in the database URL');
    case '3D000':
      return fail(`database "${address.database}" does not exist on ${where}`, 'check the database name in the URL, or create it');
    case 'ECONNREFUSED':
      return fail(`nothing is listening on ${where} (connection refused)`, 'check the host and port, and that the server is running');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(`the host name ${address.host} cannot be resolved`, 'check the host in the database URL');
    case 'CONNECT_TIMEOUT':
      return fail(`no answer from ${where} within ${address.connectTimeout} s`, 'check the host, port and firewall; set connect_timeout in the URL to wait longer');
    case 'ECONNRESET':
      if (address.ssl) return fail(`${where} closed the connection during the TLS handshake: the server does not accept TLS`, 'use sslmode=disable or prefer for a server without TLS, or enable TLS on the server');
      return fail(`${where} closed the connection`, 'check that this is a PostgreSQL server');
    case 'ENOENT':
      return fail(`no PostgreSQL socket in ${address.host}`, 'check that the server is running and the host folder is right');
    default:
      if (typeof e.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS/.test(e.code)) {
        return fail(`the TLS certificate of ${where} was not accepted (${e.code})`, 'point sslrootcert at your provider\'s CA certificate, or check the host name in the URL');
      }
      return fail(`cannot connect to ${where}: ${e.message ?? String(error)}${e.code ? ` (${e.code})` : ''}`, 'check the database URL');
  }
}
