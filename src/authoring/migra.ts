// The DDL that turns one database's schema into another's, from @pgkit/migra: loaded only by the authoring commands.
import { DbvcError } from '../core/errors.js';

// Names in variables, so that esbuild leaves them out of the CLI bundle: migra and its ~10 MB of dependencies load
// from node_modules only when a command needs them (as squawk-cli does in review/lint.ts).
const MIGRA_MODULE = '@pgkit/migra';
const CLIENT_MODULE = '@pgkit/client';

const QUIET = { pgpOptions: { initialize: { noWarnings: true } } };

interface MigraClient {
  end(): Promise<void>;
}

interface MigraModule {
  Migration: {
    create(from: MigraClient | null, target: MigraClient, options: object): Promise<{
      set_safety(safe: boolean): void;
      add_all_changes(): void;
      statements: Iterable<string>;
    }>;
  };
}

/**
 * The statements migra writes to turn the database at `fromUrl` (null: an empty database) into the one at
 * `targetUrl`, drops included, as migra ordered them. Throws an 'engine' DbvcError with migra's reason when it
 * cannot be loaded or fails; never an empty answer in place of a failure.
 */
export async function diffDatabases(fromUrl: string | null, targetUrl: string): Promise<string[]> {
  const { Migration, createClient } = await loadMigra();
  const clients: MigraClient[] = [];
  const open = (url: string) => {
    const client = createClient(url, QUIET); // pg-promise warns on stderr when two clients share a server
    clients.push(client);
    return client;
  };
  try {
    const migration = await Migration.create(fromUrl === null ? null : open(fromUrl), open(targetUrl), {});
    migration.set_safety(false);
    migration.add_all_changes();
    return [...migration.statements].map((s) => s.trim()).filter((s) => s !== '');
  } catch (error) {
    throw new DbvcError('engine', `@pgkit/migra failed to compare the schemas: ${firstLine(error)}`, {
      hint: 'nothing was written; the engine\'s full error is in its cause (DEBUG output), report it with the migration that triggers it',
      cause: error,
    });
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

async function loadMigra(): Promise<MigraModule & { createClient(url: string, options: object): MigraClient }> {
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
