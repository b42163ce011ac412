import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareSnapshots, describeObject, type SchemaObject, type Snapshot } from '../../src/core/snapshot.js';

const test = suite('core/snapshot');

const column = (name: string, type: string, position: number, extra: Record<string, string> = {}): SchemaObject =>
  ({ kind: 'column', name, props: { type, position: String(position), 'not null': '', default: '', ...extra } });
const table = (name: string): SchemaObject => ({ kind: 'table', name, props: { persistence: 'permanent' } });
const snap = (...objects: SchemaObject[]): Snapshot => ({ objects });

test('equal snapshots compare equal, whatever the order of their objects', () => {
  const a = snap(table('public.t'), column('public.t.id', 'integer', 1));
  const b = snap(column('public.t.id', 'integer', 1), table('public.t'));
  assert.equal(compareSnapshots(a, b), []);
});

test('added, changed and removed objects, containers first, then by name', () => {
  const before = snap(table('public.t'), column('public.t.id', 'integer', 1), column('public.t.old', 'text', 2),
    { kind: 'index', name: 'public.t_old_idx', props: { definition: 'CREATE INDEX t_old_idx ON public.t USING btree (old)', valid: 'true' } });
  const after = snap(table('public.t'), column('public.t.id', 'bigint', 1, { 'not null': 'true' }), column('public.t.sku', 'text', 2),
    { kind: 'enum', name: 'public.mood', props: { labels: 'happy, sad' } });
  assert.equal(compareSnapshots(before, after), [
    { change: 'added', kind: 'enum', name: 'public.mood', detail: 'labels happy, sad' },
    { change: 'changed', kind: 'column', name: 'public.t.id', detail: 'not null: (none) -> true; type: integer -> bigint' },
    { change: 'removed', kind: 'column', name: 'public.t.old', detail: 'position 2, type text' },
    { change: 'added', kind: 'column', name: 'public.t.sku', detail: 'position 2, type text' },
    { change: 'removed', kind: 'index', name: 'public.t_old_idx', detail: 'definition CREATE INDEX t_old_idx ON public.t USING btree (old), valid' },
  ]);
});

test('a column that came back at another position is a change of position', () => {
  const before = snap(column('public.t.a', 'integer', 1), column('public.t.b', 'text', 2), column('public.t.c', 'text', 3));
  const after = snap(column('public.t.a', 'integer', 1), column('public.t.c', 'text', 2), column('public.t.b', 'text', 3));
  assert.equal(compareSnapshots(before, after).map((c) => `${c.change} ${c.name} ${c.detail}`), [
    'changed public.t.b position: 2 -> 3',
    'changed public.t.c position: 3 -> 2',
  ]);
});

test('an index that became invalid is a change, and unknown kinds sort last', () => {
  const before = snap({ kind: 'index', name: 'public.i', props: { definition: 'x', valid: 'true' } }, { kind: 'zzz', name: 'a', props: {} });
  const after = snap({ kind: 'index', name: 'public.i', props: { definition: 'x', valid: 'false' } });
  assert.equal(compareSnapshots(before, after), [
    { change: 'changed', kind: 'index', name: 'public.i', detail: 'valid: true -> false' },
    { change: 'removed', kind: 'zzz', name: 'a', detail: '' },
  ]);
});

test('describeObject lists set properties by name; true ones by name alone', () => {
  assert.is(describeObject(column('public.t.id', 'bigint', 1, { 'not null': 'true', default: '0' })), 'default 0, not null, position 1, type bigint');
});

test.run();
