// The password file libpq reads (PGPASSFILE, else ~/.pgpass), so a password need not sit in an env file or a URL.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DbvcError } from './core/errors.js';

export interface PgpassKey {
  host: string;
  port: number;
  database: string;
  username: string;
}

/**
 * The password of the first line matching host:port:database:username (* matches anything; \: and \\ are escapes),
 * or undefined without a file or a match. A socket folder matches "localhost", as in libpq. A file other users can
 * read is refused, as libpq ignores it: that password is not secret any more.
 */
export function lookupPgpass(env: NodeJS.ProcessEnv, key: PgpassKey): string | undefined {
  const path = env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
  let text: string;
  try {
    if ((statSync(path).mode & 0o077) !== 0) {
      throw new DbvcError('config', `${path} can be read by other users, so libpq (and dbvc) will not use it`, { hint: `run chmod 600 ${path}` });
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof DbvcError) throw error;
    return undefined;
  }
  const wanted = [key.host.startsWith('/') ? 'localhost' : key.host, String(key.port), key.database, key.username];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields.slice(4).join(':');
  }
  return undefined;
}

function splitFields(line: string): string[] {
  const fields = [''];
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i];
    else if (ch === ':' && fields.length < 5) fields.push('');
    else fields[fields.length - 1] += ch;
  }
  return fields;
}
