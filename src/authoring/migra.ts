// The DDL that turns one database's schema into another's, from @pgkit/migra: loaded only by the authoring commands.
import { DbvcError } from '../core/errors.js';

// Names in variables, so that esbuild leaves them out of the CLI bundle: migra and its ~10 MB of dependencies load
// from node_modules only when a command needs them (as squawk-cli does in review/lint.ts).
const MIGRA_MODULE = '@pgkit/migra';
const CLIENT_MODULE = '@pgkit/client';

const QUIET = { pgpOptions: { initialize: { noWarnings: true } } };

interface MigraClient {
  end(): Promise<void>;
  pgp: { $pool: { on(event: 'error', listener: (error: Error) => void): unknown } }; // pg-promise's, over pg-pool
}

type Inspected = Record<string, unknown>; // schemainspect's PostgreSQL: what migra read of one database

interface MigraModule {
  Migration: {
    create(from: MigraClient | Inspected | null, target: MigraClient | Inspected | null, options: object): Promise<{
      changes: { i_from: Inspected; i_target: Inspected };
      set_safety(safe: boolean): void;
      add_all_changes(): void;
      statements: Iterable<string>;
    }>;
  };
}

export interface DiffOptions {
  /** Tables of either database to leave out, with their indexes, constraints, sequences and triggers: '"public"."t"'. */
  leaveOut?: string[];
}

/**
 * The statements migra writes to turn the database at `fromUrl` (null: an empty database) into the one at
 * `targetUrl`, drops included, as migra ordered them. Throws an 'engine' DbvcError with migra's reason when it
 * cannot be loaded or fails; never an empty answer in place of a failure.
 */
export async function diffDatabases(fromUrl: string | null, targetUrl: string, options: DiffOptions = {}): Promise<string[]> {
  return (await diffBothWays(fromUrl, targetUrl, options, false)).forward;
}

/**
 * As diffDatabases, both ways: `forward` turns `fromUrl`'s schema into `targetUrl`'s, `backward` the reverse. Each
 * database is inspected once, both at the same time (the inspection is most of migra's time; the diff takes ms).
 */
export async function diffBothWays(fromUrl: string | null, targetUrl: string, options: DiffOptions = {}, isBackwardWanted = true): Promise<{ forward: string[]; backward: string[] }> {
  const { Migration } = await (loading ??= loadMigra());
  const clients: MigraClient[] = [];
  const inspect = async (url: string) => {
    const client = await openClient(url);
    clients.push(client);
    const inspected = (await Migration.create(client, null, {})).changes.i_from; // the other side: migra's empty one
    if (options.leaveOut?.length) leaveOut(inspected, new Set(options.leaveOut));
    return inspected;
  };
  const diff = async (from: Inspected | null, target: Inspected) => {
    const migration = await Migration.create(from, target, {}); // inspected already: no query runs
    migration.set_safety(false);
    migration.add_all_changes();
    return [...migration.statements].map((s) => s.trim()).filter((s) => s !== '');
  };
  try {
    const [from, target] = await Promise.all([fromUrl === null ? null : inspect(fromUrl), inspect(targetUrl)]);
    const forward = await diff(from, target);
    const backward = isBackwardWanted ? await diff(target, from ?? (await Migration.create(null, null, {})).changes.i_from) : [];
    return { forward, backward };
  } catch (error) {
    throw new DbvcError('engine', `@pgkit/migra failed to compare the schemas: ${firstLine(error)}`, {
      hint: 'nothing was written; the engine\'s full error is in its cause (DEBUG output), report it with the migration that triggers it',
      cause: error,
    });
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/**
 * A client for migra to inspect `url` with. pg-pool's end() resolves before its connections have closed, and the
 * scratch database is then dropped WITH (FORCE): the server ends such a connection with 57P01, which pg-pool emits
 * as an 'error' event on the pool; nobody listened, and Node exited in the middle of a run. Here somebody does.
 */
export async function openClient(url: string): Promise<MigraClient> {
  const { createClient } = await (loading ??= loadMigra());
  const client = createClient(url, QUIET); // QUIET: pg-promise warns on stderr when two clients share a server
  client.pgp.$pool.on('error', () => {}); // a connection being closed anyway: nothing to report
  return client;
}

// migra has no option to skip a table (only whole schemas), so the inspected target forgets it: these dictionaries of
// the inspector are keyed by quoted name, and what belongs to a table names it in quoted_full_table_name.
const TABLE_PARTS = ['tables', 'relations', 'selectables', 'indexes', 'constraints', 'sequences', 'triggers', 'rlspolicies', 'privileges'];

function leaveOut(inspected: Record<string, unknown>, tables: Set<string>): void {
  const belongs = (item: unknown) => {
    try {
      return tables.has((item as { quoted_full_table_name?: string }).quoted_full_table_name ?? '');
    } catch {
      return false; // a getter that needs a table the object does not have
    }
  };
  for (const prop of TABLE_PARTS) {
    const dictionary = inspected[prop] as Record<string, unknown> | undefined;
    if (!dictionary) continue;
    inspected[prop] = Object.fromEntries(Object.entries(dictionary).filter(([key, item]) => !tables.has(key) && !belongs(item)));
  }
}

type Loaded = MigraModule & { createClient(url: string, options: object): MigraClient };
let loading: Promise<Loaded> | undefined;

/**
 * Starts loading migra (~10 MB of JavaScript to compile, most of a second) without waiting: a command calls it once
 * its scratch databases are being made, so that the server's work and the compiling overlap.
 */
export function preloadMigra(): void {
  loading ??= loadMigra();
  loading.catch(() => undefined); // the failure is thrown where migra is used
}

async function loadMigra(): Promise<Loaded> {
  try {
    const migra = (await import(MIGRA_MODULE)) as MigraModule & { default?: MigraModule };
    const client = (await import(CLIENT_MODULE)) as { createClient(url: string, options: object): MigraClient; default?: { createClient(url: string, options: object): MigraClient } };
    return { Migration: (migra.Migration ?? migra.default?.Migration), createClient: client.createClient ?? client.default!.createClient };
  } catch (error) {
    throw new DbvcError('engine', `@pgkit/migra cannot be loaded: ${firstLine(error)}`, {
      hint: 'install dbvc with its dependencies (npm install); dump, check and revision --autogenerate need it',
      cause: error,
    });
  }
}

function firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0];
}
