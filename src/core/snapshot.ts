// A database schema as plain data (what review reads from the catalogs), and the object-by-object difference
// between two of them: the schema changes a migration made, or what its down file failed to take back.
import type { SchemaChange } from './review.js';

/** One catalog object: its kind, its schema-qualified name, and the properties that make it what it is. */
export interface SchemaObject {
  kind: string; // one of KIND_ORDER
  name: string; // schema-qualified; a column or constraint adds its table: public.product.sku
  props: Record<string, string>; // compared one by one; an empty string means "none"
}

export interface Snapshot {
  objects: SchemaObject[];
}

/** The order changes are listed in: containers before what they contain. */
export const KIND_ORDER = [
  'extension', 'schema', 'enum', 'domain', 'sequence', 'table', 'column', 'constraint', 'index',
  'view', 'materialized view', 'function', 'trigger', 'policy',
] as const;

/**
 * What changed from `before` to `after`: each object added, removed, or changed (with the properties that
 * differ). Deterministic: ordered by kind (KIND_ORDER), then name, then added/changed/removed.
 */
export function compareSnapshots(before: Snapshot, after: Snapshot): SchemaChange[] {
  const old = indexObjects(before);
  const now = indexObjects(after);
  const changes: SchemaChange[] = [];
  for (const [key, object] of now) {
    const was = old.get(key);
    if (!was) changes.push({ change: 'added', kind: object.kind, name: object.name, detail: describeObject(object) });
    else {
      const detail = describeDifference(was, object);
      if (detail) changes.push({ change: 'changed', kind: object.kind, name: object.name, detail });
    }
  }
  for (const [key, object] of old) {
    if (!now.has(key)) changes.push({ change: 'removed', kind: object.kind, name: object.name, detail: describeObject(object) });
  }
  return changes.sort(compareChanges);
}

function indexObjects(snapshot: Snapshot): Map<string, SchemaObject> {
  const byKey = new Map<string, SchemaObject>();
  for (const object of snapshot.objects) byKey.set(`${object.kind}\u0000${object.name}`, object);
  return byKey;
}

/** The properties that are set, as `key value` pairs: "type bigint, not null, position 3". */
export function describeObject(object: SchemaObject): string {
  return Object.keys(object.props).sort()
    .filter((key) => object.props[key] !== '')
    .map((key) => (object.props[key] === 'true' ? key : `${key} ${object.props[key]}`))
    .join(', ');
}

/** "type integer -> bigint; not null true -> (none)", or '' when nothing differs. */
function describeDifference(was: SchemaObject, now: SchemaObject): string {
  const keys = [...new Set([...Object.keys(was.props), ...Object.keys(now.props)])].sort();
  const parts: string[] = [];
  for (const key of keys) {
    const a = was.props[key] ?? '';
    const b = now.props[key] ?? '';
    if (a !== b) parts.push(`${key}: ${a === '' ? '(none)' : a} -> ${b === '' ? '(none)' : b}`);
  }
  return parts.join('; ');
}

const CHANGE_ORDER = { added: 0, changed: 1, removed: 2 } as const;

function compareChanges(a: SchemaChange, b: SchemaChange): number {
  const kinds = kindRank(a.kind) - kindRank(b.kind);
  if (kinds !== 0) return kinds;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return CHANGE_ORDER[a.change] - CHANGE_ORDER[b.change];
}

function kindRank(kind: string): number {
  const rank = (KIND_ORDER as readonly string[]).indexOf(kind);
  return rank === -1 ? KIND_ORDER.length : rank;
}
