// The review page as a string: deterministic, escaped, self-contained, small; and written to disk atomically.
// What a reader sees in a browser is checked in browser.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderReviewPage } from '../../src/review/page.js';
import { writeReviewPage } from '../../src/review/page-file.js';
import { highlightLines } from '../../src/review/page-code.js';
import { cleanReport, EVIL, evilReport, notRevertingReport, riskyReport, twentyReport } from './fixtures.js';

test('the same report gives the same bytes, and a new made-at only changes that line', () => {
  const a = renderReviewPage(riskyReport(), { madeAt: '2026-12-04T19:00:00Z', gitCommit: 'abc' });
  const b = renderReviewPage(riskyReport(), { madeAt: '2026-12-04T19:00:00Z', gitCommit: 'abc' });
  assert.is(a, b);
  const c = renderReviewPage(riskyReport(), { madeAt: new Date('2026-12-05T08:00:00Z'), gitCommit: 'abc' });
  assert.is(c.replaceAll('2026-12-05T08:00:00.000Z', '2026-12-04T19:00:00Z'), a);
});

test('report text is shown as text: no tag, attribute or script from the report reaches the markup', () => {
  const html = renderReviewPage(evilReport());
  assert.not.ok(html.includes('<script'), 'a <script tag');
  assert.not.ok(html.includes('<img'), 'an <img tag');
  assert.not.ok(/onerror\s*=\s*"/.test(html.replace(/&quot;/g, '')) && html.includes('onerror="'), 'a live onerror attribute');
  assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;window.__pwned = 1&lt;/script&gt;'));
  const escaped = EVIL.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  assert.ok(html.includes(escaped), 'the message, escaped whole');
});

test('the page names nothing to fetch: no src, no external href, no url(), no @import, scripts forbidden by CSP', () => {
  for (const report of [cleanReport(), riskyReport(), notRevertingReport(), evilReport()]) {
    // every " in report text is escaped, so each one left delimits an attribute value: blank those out first
    const raw = renderReviewPage(report);
    const html = raw.replace(/"[^"]*"/g, '""');
    assert.not.match(html, /<[a-z][^>]*\ssrc=/i);
    assert.is(html.match(/\shref=/g)?.length, raw.match(/\shref="#/g)?.length, 'a link leaving the page');
    assert.not.match(html, /url\(|@import/);
    assert.match(raw, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  }
});

test('highlighting keeps a multi-line comment and dollar quote balanced on every line', () => {
  const lines = highlightLines('/* one\ntwo */ SELECT 1;\nDO $$\nBEGIN\nEND $$;\r\n');
  assert.is(lines.length, 5);
  for (const line of lines) assert.is((line.match(/<span/g) ?? []).length, (line.match(/<\/span>/g) ?? []).length, line);
  assert.match(lines[1], /^<span class="hljs-comment">two \*\/<\/span>/);
});

test('an up that fails when applied again after its down: the migration fails, and the error is shown', () => {
  const report = cleanReport();
  report.migrations[1].reapply = { ok: false, error: { file: 'sql/shop/0002_add_price.up.sql', line: 1, sqlstate: '42701', message: 'column "price" of relation "product" already exists' } };
  const html = renderReviewPage(report);
  assert.match(html, /<h2 id="m2-0002-h">0002 add_price <span class="badge v-failed">/);
  assert.match(html, /the up failed when applied again<\/span> <code>sql\/shop\/0002_add_price\.up\.sql:1<\/code> SQLSTATE 42701: column &quot;price&quot; of relation &quot;product&quot; already exists/);
});

test('a finding naming its file by a longer path still stands at its line; one naming another file is listed whole', () => {
  const report = riskyReport();
  const [first, second] = report.migrations[0].findings;
  first.file = `/home/ci/project/${first.file}`;
  second.file = 'sql/shop/other.sql';
  const html = renderReviewPage(report);
  assert.match(html, /<div class="mark finding sev-warning" id="m1-0005-up-f1">/);
  assert.not.match(html, /<div class="mark finding sev-error"/);
  assert.match(html, /<b>rewrite-under-access-exclusive<\/b> at sql\/shop\/other\.sql:4:1 This statement rewrote public\.product[^<]*Help: Add the column/);
});

test('highlighted lines hold escaped text and span tags only, balanced, for tricky SQL and hostile text', async () => {
  const dir = join(import.meta.dirname, '../fixtures/sql-corpus');
  const texts = await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')));
  for (const text of [...texts, `-- ${EVIL}\nSELECT '${EVIL}', $x$${EVIL}$x$; /* ${EVIL}\n${EVIL} */`]) {
    const lines = highlightLines(text);
    assert.is(lines.length, text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n').length);
    for (const line of lines) {
      for (const tag of line.match(/<[^>]*>?/g) ?? []) assert.match(tag, /^(<span class="[\w .-]+">|<\/span>)$/, line);
      assert.is((line.match(/<span/g) ?? []).length, (line.match(/<\/span>/g) ?? []).length, line);
    }
  }
});

// The time is bench/page.mjs's figure (make bench); here only a bound a loaded CI machine cannot trip.
test('20 migrations at their upper bound: under 1 MB, rendered in well under a second (figures printed)', () => {
  const report = twentyReport();
  renderReviewPage(report); // the first call pays for highlight.js's compiled grammar
  const times: number[] = [];
  let html = '';
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    html = renderReviewPage(report);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const bytes = Buffer.byteLength(html);
  console.log(`  page: 20 migrations -> ${(bytes / 1024).toFixed(0)} kB, render median ${times[2].toFixed(1)} ms (5 runs)`);
  assert.ok(bytes < 1024 * 1024, `${bytes} bytes`);
  assert.ok(times[2] < 1000, `median ${times[2]} ms`);
});

test('bench/page.mjs runs both workloads and reports the page against its goals', async () => {
  const out = await mkdtemp(join(tmpdir(), 'dbvc-bench-page-'));
  try {
    const stdout = execFileSync(process.execPath, [join(import.meta.dirname, '../../bench/page.mjs'), '--runs', '1', '--out', out], { encoding: 'utf8' });
    assert.is(await readFile(join(out, 'page.md'), 'utf8'), stdout);
    assert.is(stdout.match(/\| \*\*added to a review\*\* \| \*\*\d+\.\d\*\* \|/g)?.length, 2, stdout);
    assert.is(stdout.match(/^- (met|\*\*MISSED\*\*): the file is \d+ kB/gm)?.length, 2, stdout);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('writeReviewPage writes FILE, or DIR/index.html for DIR/ and for an existing folder, leaving no temporary file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dbvc-page-'));
  try {
    const report = cleanReport();
    const expected = renderReviewPage(report);
    assert.is(await writeReviewPage(report, join(root, 'a/review.html')), join(root, 'a/review.html'));
    assert.is(await readFile(join(root, 'a/review.html'), 'utf8'), expected);
    assert.is(await writeReviewPage(report, join(root, 'b') + '/'), join(root, 'b/index.html'));
    await mkdir(join(root, 'c'));
    assert.is(await writeReviewPage(report, join(root, 'c')), join(root, 'c/index.html'));
    assert.is(await readFile(join(root, 'c/index.html'), 'utf8'), expected);
    for (const dir of ['a', 'b', 'c']) assert.equal((await readdir(join(root, dir))).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
