// A view's definition as pg_get_viewdef prints it depends on the server's major version: from PostgreSQL 16 on,
// columns are no longer qualified by their table when one table is in scope. A snapshot read on another server than
// the scratch one (drift's target, baseline's and --from-url's source) would show every such view as changed, so its
// differing definitions are printed again by the scratch server before the two are compared.
import type { Snapshot, SchemaObject } from '../core/snapshot.js';
import type { Db } from '../store.js';

const isView = (o: SchemaObject) => o.kind === 'view' || o.kind === 'materialized view';
const keyOf = (o: SchemaObject) => `${o.kind}\u0000${o.name}`;

/**
 * `snapshot` with each view definition that differs from the same view's in `reference` as the server of `db`
 * prints it; `db` holds the reference's schema, which the definitions' names resolve against. A definition that
 * cannot be created there (it names what the reference lacks) is kept as read, and so still differs.
 */
export async function printViewsOn(db: Db, snapshot: Snapshot, reference: Snapshot): Promise<Snapshot> {
  const theirs = new Map(reference.objects.filter(isView).map((o) => [keyOf(o), o.props.definition]));
  const objects: SchemaObject[] = [];
  for (const object of snapshot.objects) {
    const other = isView(object) ? theirs.get(keyOf(object)) : undefined;
    const definition = other === undefined || other === object.props.definition ? null : await printOn(db, object.props.definition);
    objects.push(definition === null ? object : { ...object, props: { ...object.props, definition } });
  }
  return { objects };
}

class Printed {
  constructor(readonly text: string) {}
}

/** pg_get_viewdef of a temporary view made from `definition`, in a transaction rolled back; null when it fails. */
async function printOn(db: Db, definition: string): Promise<string | null> {
  const query = definition.trim().replace(/;$/, '');
  try {
    await db.begin(async (tx) => {
      await tx.unsafe(`create temporary view dbvc_printed as ${query}`);
      const [{ text }] = await tx.unsafe(`select pg_get_viewdef('pg_temp.dbvc_printed'::regclass, true) as text`);
      throw new Printed(String(text)); // rolls the view back
    });
  } catch (outcome) {
    if (outcome instanceof Printed) return outcome.text;
  }
  return null;
}
