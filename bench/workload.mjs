// Writes the benchmark workloads: N migration pairs for dbvc, and the same files driven by psql for the floors.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export function upSql(i) {
  return `CREATE TABLE t_${i} (id bigint primary key, name text not null, created_at timestamptz default now()); CREATE INDEX ON t_${i} (name);\n`;
}

export function downSql(i) {
  return `DROP TABLE t_${i};\n`;
}

/**
 * Creates <scratch>/w<n>/migrations (the dbvc folder: zero-padded versions, at least four digits) and
 * <scratch>/w<n>/psql with up-per-file.sql / down-per-file.sql (BEGIN; \i file; COMMIT; per migration,
 * downs in reverse) and up-all.sql (every up file concatenated, for psql -1 -f). Returns the paths and head.
 */
export async function writeWorkload(scratch, n) {
  const root = join(scratch, `w${n}`);
  const dir = join(root, 'migrations');
  const psqlDir = join(root, 'psql');
  await mkdir(dir, { recursive: true });
  await mkdir(psqlDir, { recursive: true });
  const width = Math.max(4, String(n).length);
  const ups = [];
  const downs = [];
  let head = null;
  for (let i = 1; i <= n; i++) {
    head = String(i).padStart(width, '0');
    const up = join(dir, `${head}_create_t_${i}.up.sql`);
    const down = join(dir, `${head}_create_t_${i}.down.sql`);
    await writeFile(up, upSql(i));
    await writeFile(down, downSql(i));
    ups.push(up);
    downs.push(down);
  }
  const perFile = (files) => files.map((f) => `BEGIN;\n\\i ${quotePath(f)}\nCOMMIT;\n`).join('');
  const paths = {
    upPerFile: join(psqlDir, 'up-per-file.sql'),
    downPerFile: join(psqlDir, 'down-per-file.sql'),
    upAll: join(psqlDir, 'up-all.sql'),
  };
  await writeFile(paths.upPerFile, perFile(ups));
  await writeFile(paths.downPerFile, perFile([...downs].reverse()));
  await writeFile(paths.upAll, Array.from({ length: n }, (_, k) => upSql(k + 1)).join(''));
  return { n, dir, head, ...paths };
}

// psql's \i takes a single-quoted argument; our temp paths hold no quotes, but be safe.
function quotePath(path) {
  return `'${path.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
