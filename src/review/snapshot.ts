// Reads a Snapshot of one database's schema from its catalogs, in one query (PostgreSQL 15 to 18), and keeps the
// snapshots of scratch templates on disk: a review reads the state it starts from there instead of from a copy.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchemaObject, Snapshot } from '../core/snapshot.js';
import { quoteIdent } from '../core/ledger.js';
import type { Db } from '../store.js';

// Everything outside the user's schemas, extension members, and dbvc's own two tables (with their indexes and
// sequences) is left out. PostgreSQL 18 also records NOT NULL as pg_constraint rows (contype 'n'); they are left
// out here because pg_attribute.attnotnull already says it on every major, so a column compares equal across them.
const SNAPSHOT_SQL = `
with dbvc as (
  select oid from pg_class where oid in (to_regclass($1::text), to_regclass($2::text))
), hidden as (
  select oid from dbvc
  union select indexrelid from pg_index where indrelid in (select oid from dbvc)
  union select objid from pg_depend
    where classid = 'pg_class'::regclass and refclassid = 'pg_class'::regclass and refobjid in (select oid from dbvc) and deptype in ('a', 'i')
), ext as (
  select classid, objid from pg_depend where deptype = 'e'
), ns as (
  select oid, nspname from pg_namespace
  where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname not like 'pg\\_temp\\_%' and nspname not like 'pg\\_toast\\_temp\\_%'
    and not exists (select 1 from ext where classid = 'pg_namespace'::regclass and objid = pg_namespace.oid)
), rel as (
  select c.oid, c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relispopulated, ns.nspname, ns.nspname || '.' || c.relname as qname
  from pg_class c join ns on ns.oid = c.relnamespace
  where c.oid not in (select oid from hidden) and not exists (select 1 from ext where classid = 'pg_class'::regclass and objid = c.oid)
), typ as (
  select t.*, ns.nspname || '.' || t.typname as qname from pg_type t join ns on ns.oid = t.typnamespace
  where not exists (select 1 from ext where classid = 'pg_type'::regclass and objid = t.oid)
)
select 'schema' as kind, nspname as name, json_build_object() as props from ns
union all
select 'extension', extname, json_build_object('version', extversion, 'schema', extnamespace::regnamespace::text) from pg_extension
union all
select case relkind when 'r' then 'table' when 'p' then 'table' when 'f' then 'table' when 'v' then 'view' else 'materialized view' end, qname,
  case when relkind in ('v', 'm') then json_build_object('definition', pg_get_viewdef(oid, true), 'not populated', relkind = 'm' and not relispopulated)
       else json_build_object('partitioned', relkind = 'p', 'foreign', relkind = 'f', 'unlogged', relpersistence = 'u', 'row level security', relrowsecurity) end
from rel where relkind in ('r', 'p', 'f', 'v', 'm')
union all
select 'column', rel.qname || '.' || a.attname, json_build_object(
  'type', format_type(a.atttypid, a.atttypmod),
  'not null', a.attnotnull,
  'default', case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end,
  'generated', case when a.attgenerated <> '' then pg_get_expr(d.adbin, d.adrelid) end,
  'identity', case a.attidentity when 'a' then 'always' when 'd' then 'by default' end,
  'collation', case when a.attcollation <> t.typcollation then a.attcollation::regcollation::text end,
  'position', row_number() over (partition by a.attrelid order by a.attnum))
from rel join pg_attribute a on a.attrelid = rel.oid join pg_type t on t.oid = a.atttypid
left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where rel.relkind in ('r', 'p', 'f') and a.attnum > 0 and not a.attisdropped
union all
select 'constraint', rel.qname || '.' || c.conname, json_build_object('definition', pg_get_constraintdef(c.oid), 'not validated', not c.convalidated)
from pg_constraint c join rel on rel.oid = c.conrelid where c.contype <> 'n'
union all
select 'index', rel.qname, json_build_object('definition', pg_get_indexdef(i.indexrelid), 'invalid', not i.indisvalid)
from pg_index i join rel on rel.oid = i.indexrelid
union all
select 'sequence', rel.qname, json_build_object('type', format_type(s.seqtypid, null), 'start', s.seqstart::text, 'increment', s.seqincrement::text,
  'min', s.seqmin::text, 'max', s.seqmax::text, 'cycle', s.seqcycle,
  'owned by', (select r.relnamespace::regnamespace::text || '.' || r.relname || '.' || a.attname from pg_depend d
               join pg_class r on r.oid = d.refobjid join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
               where d.classid = 'pg_class'::regclass and d.objid = rel.oid and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i') limit 1))
from pg_sequence s join rel on rel.oid = s.seqrelid
union all
select 'enum', qname, json_build_object('labels', (select string_agg(e.enumlabel, ', ' order by e.enumsortorder) from pg_enum e where e.enumtypid = typ.oid))
from typ where typtype = 'e'
union all
select 'domain', qname, json_build_object('type', format_type(typbasetype, typtypmod), 'not null', typnotnull, 'default', typdefault,
  'checks', (select string_agg(pg_get_constraintdef(c.oid), ' ' order by c.conname) from pg_constraint c where c.contypid = typ.oid and c.contype = 'c'))
from typ where typtype = 'd'
union all
select 'function', ns.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
  json_build_object('returns', pg_get_function_result(p.oid), 'definition', pg_get_functiondef(p.oid))
from pg_proc p join ns on ns.oid = p.pronamespace
where p.prokind in ('f', 'p', 'w') and not exists (select 1 from ext where classid = 'pg_proc'::regclass and objid = p.oid)
union all
select 'trigger', rel.qname || '.' || t.tgname, json_build_object('definition', pg_get_triggerdef(t.oid), 'disabled', t.tgenabled = 'D')
from pg_trigger t join rel on rel.oid = t.tgrelid where not t.tgisinternal
union all
select 'policy', rel.qname || '.' || p.polname, json_build_object(
  'command', case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update' when 'd' then 'delete' else 'all' end,
  'restrictive', not p.polpermissive,
  'roles', (select string_agg(case when r = 0 then 'public' else pg_get_userbyid(r) end, ', ' order by 1) from unnest(p.polroles) r),
  'using', pg_get_expr(p.polqual, p.polrelid), 'with check', pg_get_expr(p.polwithcheck, p.polrelid))
from pg_policy p join rel on rel.oid = p.polrelid`;

/**
 * The schema of the database `db` is connected to, leaving out dbvc's tables in `schema` (alembic_version and
 * dbvc_history). Read-only: one catalog query.
 */
export async function readSnapshot(db: Db, schema: string): Promise<Snapshot> {
  const q = quoteIdent(schema);
  const rows = await db.unsafe(SNAPSHOT_SQL, [`${q}.alembic_version`, `${q}.dbvc_history`]);
  return { objects: rows.map((row) => ({ kind: row.kind as string, name: row.name as string, props: textProps(row.props) })) };
}

// Properties become text; false and null both mean "not set", so a flag only shows when it holds.
function textProps(props: Record<string, unknown>): SchemaObject['props'] {
  const text: SchemaObject['props'] = {};
  for (const [key, value] of Object.entries(props)) text[key] = value === null || value === false ? '' : String(value);
  return text;
}


// Snapshot files kept: one per template instance reviewed from, the ones used last.
const CACHED_SNAPSHOTS = 8;

/**
 * Where the snapshot of a database state lives: <folder>/<hash>.json, the hash of the state's origin (a template
 * instance: cluster, oid, name), the dbvc schema left out, and the query that reads it, so that a new dbvc, another
 * server or a rebuilt template never meets an old file.
 */
export function snapshotPath(folder: string, origin: string, schema: string): string {
  const key = createHash('sha256').update(`${origin}\n${schema}\n${SNAPSHOT_SQL}`).digest('hex').slice(0, 32);
  return join(folder, `${key}.json`);
}

/** The snapshot at `path`, or undefined when there is none or it cannot be read (then it is read from the catalogs). */
export async function readCachedSnapshot(path: string): Promise<Snapshot | undefined> {
  try {
    const snapshot = JSON.parse(await readFile(path, 'utf8')) as Snapshot;
    if (!Array.isArray(snapshot.objects)) return undefined;
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined); // used last: kept longest
    return snapshot;
  } catch {
    return undefined;
  }
}

/** Writes the snapshot to `path` whole (or not at all), and drops all but the files used last. Best effort. */
export async function cacheSnapshot(path: string, snapshot: Snapshot): Promise<void> {
  const folder = join(path, '..');
  try {
    await mkdir(folder, { recursive: true });
    const partial = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(partial, JSON.stringify(snapshot));
    await rename(partial, path);
    const files = await Promise.all((await readdir(folder)).filter((f) => f.endsWith('.json')).map(async (f) => ({ f, at: (await stat(join(folder, f))).mtimeMs })));
    files.sort((a, b) => b.at - a.at);
    await Promise.all(files.slice(CACHED_SNAPSHOTS).map(({ f }) => rm(join(folder, f), { force: true })));
  } catch {
    // a folder we may not write to: the next review reads the catalogs, as this one did
  }
}
