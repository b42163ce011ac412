// Which databases a fleet command acts on: --db a,b or --all, each target one database or a URL list file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDatabaseUrl, resolveConfig, type Config, type Flags } from '../config.js';
import { DbvcError } from '../core/errors.js';
import { parseUrlList } from '../core/fleet.js';
import { compareNatural, WHOLE_TARGET } from '../core/matrix.js';

export interface FleetFlags extends Flags {
  all?: boolean; // every target with both sql/<db>/ and envs/<db>.env
}

/** One database of a fleet run: its own Config, so its own connection, lock and history. */
export interface FleetUnit {
  target: string;
  database: string; // host and database name, never the password
  config: Readonly<Config>;
}

export interface FleetTarget {
  name: string;
  config: Readonly<Config>; // the target's settings; its migrations are read once from config.migrationsDir
  units: FleetUnit[];
}

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * The targets named by --db (several, comma-separated) or --all, each with its databases; with needsServer false
 * (check: no database), each target is one unit whose database is WHOLE_TARGET. Throws a 'usage' or 'config'
 * DbvcError (never holding a password) before anything connects.
 */
export function expandFleet(flags: FleetFlags, env: NodeJS.ProcessEnv, root: string, needsServer = true): FleetTarget[] {
  if (flags.all && flags.db !== undefined) throw new DbvcError('usage', '--all and --db exclude each other', { hint: 'use --all for every target, or --db a,b for some' });
  const names = flags.all ? discoverTargets(root, needsServer) : splitNames(flags.db ?? 'local');
  if (names.length > 1) {
    const single = (['url', 'dir', 'urlsFile'] as const).find((key) => flags[key] !== undefined);
    if (single) {
      const flag = { url: '--url', dir: '--dir', urlsFile: '--urls-file' }[single];
      throw new DbvcError('usage', `${flag} applies to one target, and this run has ${names.length} (${names.join(', ')})`, {
        hint: `run that target alone with --db NAME ${flag} ..., or set it in its envs/<db>.env`,
      });
    }
  }
  return names.map((name) => {
    const config = resolveConfig({ ...flags, db: name }, env, root, needsServer);
    if (!needsServer) return { name, config, units: [{ target: name, database: WHOLE_TARGET, config }] };
    const units = config.urlsFile ? readUrlList(config, env, root) : [{ target: name, database: databaseLabel(config), config }];
    return { name, config, units };
  });
}

/**
 * Every folder under sql/ with an env file of the same name, sorted; without needsEnvFile (check: no database, and
 * a CI checkout has no env files), every folder. A 'config' DbvcError when there is none.
 */
export function discoverTargets(root: string, needsEnvFile = true): string[] {
  let folders: string[] = [];
  try {
    folders = readdirSync(resolve(root, 'sql'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    folders = [];
  }
  const targets = folders.filter((name) => TARGET_NAME.test(name) && (!needsEnvFile || existsSync(resolve(root, 'envs', `${name}.env`))));
  if (targets.length === 0 && !needsEnvFile) throw new DbvcError('config', '--all found no target: there is no folder sql/<db>/', { hint: 'dbvc init NAME creates one' });
  if (targets.length === 0) {
    throw new DbvcError('config', '--all found no target: none has both a folder sql/<db>/ and an env file envs/<db>.env', {
      hint: 'copy envs/<db>.env.example to envs/<db>.env for each target to include',
    });
  }
  return targets.sort(compareNatural);
}

function splitNames(text: string): string[] {
  const names = [...new Set(text.split(',').map((name) => name.trim()))];
  if (names.some((name) => name === '')) throw new DbvcError('usage', `--db "${text}" has an empty target name`, { hint: 'write for example --db aiven,neon' });
  return names;
}

/** The target's URL list file, read once: one unit per line, each shown as host/database. */
function readUrlList(config: Readonly<Config>, env: NodeJS.ProcessEnv, root: string): FleetUnit[] {
  const file = config.urlsFile!;
  let text: string;
  try {
    text = readFileSync(resolve(root, file), 'utf8');
  } catch (error) {
    throw new DbvcError('config', `the URL list ${file} of target ${config.db} cannot be read (${(error as NodeJS.ErrnoException).code})`, {
      file, hint: 'the path is relative to the project folder; write one postgres:// URL per line',
    });
  }
  return parseUrlList(text, file).map(({ line, url }) => {
    const source = `${file}:${line}`;
    const unit = Object.freeze({ ...config, server: parseDatabaseUrl(url, source, env, root), urlSource: source, urlsFile: undefined });
    return { target: config.db, database: databaseLabel(unit), config: unit };
  });
}

/** host/database (host:port/database off the default port); for an embedded server, its data folder. */
export function databaseLabel(config: Readonly<Config>): string {
  const server = config.server;
  if (server.kind !== 'url') return server.display.replace(/^embedded PostgreSQL /, 'embedded ');
  return `${server.host}${server.port === 5432 ? '' : `:${server.port}`}/${server.database}`;
}
