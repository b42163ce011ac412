// Recognises a transaction-mode pooler between dbvc and the server, which would break its session lock (DESIGN.md).
import { DbvcError } from './core/errors.js';

/** Neon's pooled endpoint is the direct endpoint's name with -pooler after the endpoint id. */
const NEON_POOLER = /^(ep-[a-z0-9-]+)-pooler(\.[a-z0-9.-]+\.neon\.(?:tech|build))$/i;

/** Throws a 'config' DbvcError when the host name alone says it is a transaction-mode pool (Neon's -pooler). */
export function refusePoolerHost(host: string, display: string): void {
  const neon = NEON_POOLER.exec(host);
  if (!neon) return;
  throw new DbvcError('config', `${display} is Neon's pooled endpoint (${host}), which pools transactions: dbvc's migration lock needs one session for the whole run`, {
    hint: `use the direct endpoint ${neon[1]}${neon[2]} (the same host name without -pooler); nothing was run`,
  });
}

export interface PoolerProbe {
  /** the pid in the server's BackendKeyData: a pooler sends its own cancel key instead */
  keyPid: number | null;
  /** pg_backend_pid() from the first query */
  backendPid: number;
  /** pg_backend_pid() on a second, short-lived connection */
  probePid(): Promise<number>;
  /** pg_backend_pid() on the run's connection, asked again */
  ownPid(): Promise<number>;
}

/**
 * Returns 'direct', 'session' (a pooler that keeps one server session per client) or 'transaction'.
 * A direct connection costs nothing more: PostgreSQL's BackendKeyData names the backend that pg_backend_pid()
 * reports. Only when they differ is a second connection opened: a transaction pooler (PgBouncer picks the most
 * recently released server first) hands it the very backend our idle connection used, or moves us to another one.
 */
export async function detectPooler(probe: PoolerProbe): Promise<'direct' | 'session' | 'transaction'> {
  if (probe.keyPid === probe.backendPid) return 'direct';
  const other = await probe.probePid();
  const again = await probe.ownPid();
  return other === probe.backendPid || again !== probe.backendPid ? 'transaction' : 'session';
}

export function poolerError(display: string): DbvcError {
  return new DbvcError('config', `${display} goes through a connection pooler in transaction mode (PgBouncer or similar): dbvc's migration lock and transactions need one server session for the whole run`, {
    hint: 'use the direct connection string of the database server, not the pool\'s (on Neon the host without -pooler, on Aiven the service URI rather than a pool\'s), or a session-mode pool; nothing was run',
  });
}
