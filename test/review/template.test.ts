// Review's templates on the scratch server: marked when used, pruned to the few used last, with their spares.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as api from '../../src/api.js';
import { loadMigrations } from '../../src/fs.js';
import { templateName } from '../../src/review/scratch.js';
import { cacheSnapshot, readCachedSnapshot, snapshotPath } from '../../src/review/snapshot.js';
import { dropLeftovers, namedAt, scratchName } from '../../src/review/leftovers.js';
import { KEPT_TEMPLATES, markTemplateUsed, pruneTemplates, spareName } from '../../src/review/template.js';
import { capture, configFor, connect, copyFixture, rejection, serverUrl, urlFor } from '../helpers/db.js';

const test = suite('review/template');

const hex = (n: number) => randomBytes(n).toString('hex');
const databases = async (admin: ReturnType<typeof connect>, pattern: string) =>
  (await admin`select datname from pg_database where datname ~ ${pattern} order by datname`).map((r) => r.datname as string);

test('pruning keeps the templates used last with their spares, and drops no other name', async () => {
  const admin = connect(serverUrl());
  const [recent, second, old, unmarked] = [0, 1, 2, 3].map(() => `dbvc_scratch_tpl_${hex(12)}`);
  const others = [`dbvc_scratch_${hex(6)}`, `dbvc_scratch_build_${hex(6)}`, `dbvc_tpl_${hex(6)}`];
  const names = [recent, second, old, unmarked, ...others];
  try {
    for (const name of names) await admin.unsafe(`create database ${name}`);
    const oids = new Map((await admin`select datname, oid::int8 as oid from pg_database`).map((r) => [r.datname as string, String(r.oid)]));
    const spares = [
      spareName(recent, `${oids.get(recent)}_${hex(3)}`), // kept with its template
      spareName(old, `${oids.get(old)}_${hex(3)}`), // of a template pruned
      spareName(recent, `1_${hex(3)}`), // of an earlier instance of a kept template
      spareName(`dbvc_scratch_tpl_${hex(12)}`, `${oids.get(recent)}_${hex(3)}`), // of no template
    ];
    names.push(...spares);
    for (const name of spares) await admin.unsafe(`create database ${name}`);
    await markTemplateUsed(admin, old, new Date('2000-01-01T00:00:00Z'));
    await markTemplateUsed(admin, second, new Date('2999-01-01T00:00:00Z'));
    await markTemplateUsed(admin, recent, new Date('2999-06-01T00:00:00Z'));
    const dropped = await pruneTemplates(admin, 2);
    assert.ok(dropped.includes(old) && dropped.includes(unmarked), 'older and unmarked templates go');
    assert.ok(spares.slice(1).every((s) => dropped.includes(s)), 'spares of a dropped template, an old instance or none go');
    assert.equal(await databases(admin, '^dbvc_scratch_(tpl|spare)_'), [spares[0], recent, second].sort());
    assert.equal(await databases(admin, `^(${others.join('|')})$`), [...others].sort(), 'other names are never touched');
  } finally {
    for (const name of names) await admin.unsafe(`drop database if exists ${name}`);
    await admin.end();
  }
});

test('a review that builds a template prunes the server down to the ones used last, its own kept', async () => {
  const admin = connect(serverUrl());
  const fakes = [0, 1, 2, 3].map(() => `dbvc_scratch_tpl_${hex(12)}`);
  const dir = await copyFixture('review-locks');
  try {
    for (const name of fakes) await admin.unsafe(`create database ${name}`);
    await appendFile(join(dir, '0001_base.up.sql'), `-- ${process.pid} ${Date.now()}: a history of this test's own\n`);
    const template = templateName((await loadMigrations(dir, 'sql/test')).slice(0, 1));
    const { report } = await api.review(configFor('postgres://unused@localhost/unused', dir), { range: '0001:0002', scratchUrl: serverUrl(), report: capture() });
    assert.is(report.scratch.warm, false);
    const kept = await databases(admin, '^dbvc_scratch_tpl_');
    assert.ok(kept.includes(template), 'its own template is kept');
    assert.is(kept.length, KEPT_TEMPLATES);
    const [note] = await admin`select shobj_description(oid, 'pg_database') as note from pg_database where datname = ${template}`;
    assert.match(note.note, /^dbvc scratch template, last used \d{4}-\d\d-\d\dT/);
  } finally {
    for (const name of fakes) await admin.unsafe(`drop database if exists ${name}`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the snapshot of a template on disk: one file per template instance and schema, a broken file is a miss, 8 kept', async () => {
  const folder = join(await mkdtemp(join(tmpdir(), 'dbvc-snapshots-')), 'cache');
  try {
    const path = snapshotPath(folder, '7715567526306211972 16384 dbvc_scratch_tpl_x', 'public');
    assert.is.not(path, snapshotPath(folder, '7715567526306211972 16390 dbvc_scratch_tpl_x', 'public'), 'a rebuilt template (another oid)');
    assert.is.not(path, snapshotPath(folder, '7715567526306211972 16384 dbvc_scratch_tpl_x', 'audit'), 'another dbvc schema');
    assert.is(await readCachedSnapshot(path), undefined);
    const snapshot = { objects: [{ kind: 'table', name: 'public.t', props: { partitioned: '' } }] };
    await cacheSnapshot(path, snapshot);
    assert.equal(await readCachedSnapshot(path), snapshot);
    await writeFile(path, '{"objects": [');
    assert.is(await readCachedSnapshot(path), undefined, 'a file cut short is read from the catalogs instead');
    for (let i = 0; i < 10; i++) await cacheSnapshot(snapshotPath(folder, `x ${i} y`, 'public'), snapshot);
    assert.is((await readdir(folder)).length, 8);
  } finally {
    await rm(join(folder, '..'), { recursive: true, force: true });
  }
});

// A fleet check failed on it (exit 70): alpha's note on the template waited for beta's copy of it, gave up, and the
// CREATE DATABASE alpha had queued behind the note on the same session ran in the aborted transaction (25P02).
test('a template note that cannot be written at once leaves the session usable for what is queued behind it', async () => {
  const admin = connect(serverUrl());
  const holder = connect(serverUrl());
  const template = `dbvc_scratch_tpl_${hex(12)}`;
  try {
    await admin.unsafe(`create database ${template}`);
    const held = holder.begin(async (tx) => {
      await tx.unsafe(`comment on database ${template} is 'held by another session'`);
      await new Promise((done) => setTimeout(done, 600));
    });
    await new Promise((done) => setTimeout(done, 100));
    const [marked, queued] = await Promise.allSettled([markTemplateUsed(admin, template, new Date()), admin`select 1 as one`]);
    await held;
    assert.is(marked.status, 'fulfilled', 'best effort: a note that waits too long is given up');
    assert.equal(queued.status === 'fulfilled' ? queued.value[0].one : (queued as PromiseRejectedResult).reason.message, 1);
    assert.equal((await admin`select 2 as two`)[0].two, 2);
  } finally {
    await admin.unsafe(`drop database if exists ${template}`);
    await Promise.all([admin.end(), holder.end()]);
  }
});

// A CI job killed in the middle of a review leaves its copy of the template (or a template's build) behind: the next
// run on the server drops it once it is an hour old by the server's clock, if nobody is on it; nothing else.
test('leftovers of killed runs: dropped by the next review once an hour old and unused, and nothing else', async () => {
  const admin = connect(serverUrl());
  const [{ now }] = await admin`select (extract(epoch from clock_timestamp()) * 1000)::int8 as now`;
  const hoursAgo = (h: number) => Number(now) - h * 3600_000;
  const [old, oldBuild, recent, inUse] = [scratchName('copy', hoursAgo(2)), scratchName('build', hoursAgo(30)), scratchName('copy', hoursAgo(0.5)), scratchName('copy', hoursAgo(2))];
  const others = [`dbvc_scratch_${hex(6)}`, `dbvc_scratch_tpl_${hex(12)}`, `dbvc_${Number(hoursAgo(3)).toString(36)}_${hex(6)}`];
  const names = [old, oldBuild, recent, inUse, ...others];
  let session: ReturnType<typeof connect> | undefined;
  const dir = await copyFixture('review-locks');
  try {
    assert.is(namedAt(old), Math.floor(hoursAgo(2)));
    for (const name of names) await admin.unsafe(`create database ${name}`);
    session = connect(urlFor(inUse));
    await session`select 1`;
    await api.review(configFor('postgres://unused@localhost/unused', dir), { range: '0001:0002', scratchUrl: serverUrl(), report: capture() });
    const left = await databases(admin, `^(${names.join('|')})$`);
    assert.equal(left, [recent, inUse, ...others].sort(), 'the two old unused ones are gone');
    await session.end();
    session = undefined;
    assert.equal(await dropLeftovers(admin), [inUse], 'once its session ends');
  } finally {
    await session?.end();
    for (const name of names) await admin.unsafe(`drop database if exists ${name}`);
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
});

// Ctrl-C during a cold review of a long history used to wait for the whole template to be built, then stop.
test('Ctrl-C while the template is built: the statement in flight is cancelled, and nothing is kept', async () => {
  const admin = connect(serverUrl());
  const dir = await mkdtemp(join(tmpdir(), 'dbvc-build-abort-'));
  try {
    await writeFile(join(dir, '0001_slow.up.sql'), `-- ${process.pid} ${Date.now()}\nCREATE TABLE slow (id int);\nSELECT pg_sleep(30);\n`);
    await writeFile(join(dir, '0001_slow.down.sql'), 'DROP TABLE slow;\n');
    await writeFile(join(dir, '0002_more.up.sql'), 'CREATE TABLE more (id int);\n');
    await writeFile(join(dir, '0002_more.down.sql'), 'DROP TABLE more;\n');
    const template = templateName((await loadMigrations(dir, 'sql/test')).slice(0, 1));
    const builds = await databases(admin, '^dbvc_scratch_build_');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1500);
    const started = Date.now();
    const error = await rejection(api.review(configFor('postgres://unused@localhost/unused', dir), { range: '0001:0002', scratchUrl: serverUrl(), report: capture(), signal: controller.signal }));
    assert.is(error.code, 'interrupted');
    assert.match(error.message, /while building the scratch template/);
    assert.ok(Date.now() - started < 20_000, `the pg_sleep(30) was cancelled, not waited for (${Date.now() - started} ms)`);
    assert.equal(await databases(admin, `^${template}$`), [], 'no template kept');
    assert.equal(await databases(admin, '^dbvc_scratch_build_'), builds, 'the build dropped');
  } finally {
    await admin.end();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
