// The comments of a database's own objects, as COMMENT ON statements: migra writes none, so dbvc adds them.
import { literal } from '../core/render.js';
import type { SchemaObject } from '../core/snapshot.js';
import type { Db } from '../store.js';

// pg_identify_object gives each object's kind and its quoted identity ("public.person", "person_pkey on
// public.person"), which COMMENT ON takes as written. Extension members and the system's schemas are left out,
// and so is the comment every new database has on its public schema.
const COMMENTS_SQL = `
select i.type, i.identity, d.description
from pg_description d cross join lateral pg_identify_object(d.classoid, d.objoid, d.objsubid) i
where d.classoid in ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass, 'pg_constraint'::regclass,
                     'pg_trigger'::regclass, 'pg_namespace'::regclass, 'pg_policy'::regclass)
  and coalesce(i.schema, i.identity) not in ('pg_catalog', 'information_schema')
  and coalesce(i.schema, i.identity) not like 'pg\\_toast%' and coalesce(i.schema, i.identity) not like 'pg\\_temp%'
  and not (i.type = 'schema' and i.identity = 'public')
  and not exists (select 1 from pg_depend e where e.classid = d.classoid and e.objid = d.objoid and e.deptype = 'e')
order by i.type, i.identity`;

const KEYWORDS: Record<string, string> = {
  'table constraint': 'CONSTRAINT', 'domain constraint': 'CONSTRAINT', 'composite type': 'TYPE',
};

/**
 * Each commented object as a SchemaObject of kind 'comment', named as COMMENT ON names it ("TABLE public.person"),
 * so that compareSnapshots compares comments too. Ordered by kind and identity. Read-only.
 */
export async function readComments(db: Db): Promise<SchemaObject[]> {
  const rows = await db.unsafe(COMMENTS_SQL);
  return rows.map((row) => ({ kind: 'comment', name: commentTarget(row.type as string, row.identity as string), props: { text: row.description as string } }));
}

export function commentStatement(comment: SchemaObject): string {
  return `COMMENT ON ${comment.name} IS ${literal(comment.props.text)};`;
}

function commentTarget(type: string, identity: string): string {
  const keyword = KEYWORDS[type] ?? (type.endsWith(' column') ? 'COLUMN' : type.toUpperCase());
  // a domain constraint's identity reads "check_x on public.dom"; COMMENT ON wants "ON DOMAIN public.dom"
  const target = type === 'domain constraint' ? identity.replace(/ on (?=[^ ]+$)/, ' on domain ') : identity;
  return `${keyword} ${target}`;
}
