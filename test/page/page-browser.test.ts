// The review page as a reader sees it in headless Chromium (issue 17): the verdict, each migration's row, a lock
// badge just above the statement that takes it, a finding at its line, the differences of a down that does not
// revert; no console error, no request but the file itself, nothing wider than a phone but the code blocks,
// and the same text with JavaScript off. Skipped, and counted as skipped, where there is no Chromium.
import { rm } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, Page } from 'playwright-core';
import { renderReviewPage } from '../../src/review/page.js';
import { checkPage, findChromium, lowContrast, OUT, launch, openPage, overflowing } from './browser.js';
import { cleanReport, EVIL, evilReport, failedReport, notRevertingReport, riskyReport } from './fixtures.js';

const browserSuite = suite<{ browser?: Browser }>('page in a browser');
const chromium = findChromium();
// test.skip, not no tests at all: test/run.mjs reports uvu's skipped count beside passed and failed
const register: typeof browserSuite.skip = 'path' in chromium ? browserSuite : browserSuite.skip;
if ('missing' in chromium) console.log(`  page: SKIPPED the browser tests: ${chromium.missing}`);

browserSuite.before(async (context) => {
  await rm(OUT, { recursive: true, force: true }); // screenshots of an earlier run's failures would mislead
  if ('path' in chromium) context.browser = await launch(chromium.path);
});
browserSuite.after(async (context) => {
  await context.browser?.close();
});

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();

/** The marks box right above a listing line, and the gap between them as drawn. */
function markAbove(page: Page, lineId: string): Promise<{ text: string; gap: number; left: number; right: number } | null> {
  return page.evaluate((id) => {
    const line = document.getElementById(id);
    const marks = line?.previousElementSibling;
    if (!line || !marks?.classList.contains('marks')) return null;
    const a = marks.getBoundingClientRect();
    const b = line.getBoundingClientRect();
    return { text: (marks as HTMLElement).innerText, gap: b.top - a.bottom, left: a.left, right: a.right };
  }, lineId);
}

register('a clean review: the verdict and one row per migration', async ({ browser }) => {
  const opened = await openPage(browser!, 'clean', renderReviewPage(cleanReport()));
  await checkPage(opened, 'clean', async (page) => {
    assert.match(await text(page, '.verdict'), /Verdict:\s*✓ ok\s+no findings/);
    assert.match(await text(page, '.facts'), /3f2a9c1e/);
    const rows = await page.locator('table.summary tbody tr').allInnerTexts();
    assert.is(rows.length, 2);
    assert.match(rows[0], /0001 create_product[\s\S]*ok[\s\S]*no lock on a table[\s\S]*yes/);
    assert.match(rows[1], /0002 add_price[\s\S]*AccessExclusiveLock on public\.product[\s\S]*blocks reads and writes/);
    assert.is(await page.locator('table.summary a[href="#m2-0002"]').count(), 1, 'the row links to its section');
    assert.ok(await page.locator('section#m2-0002 h2').isVisible());
    // the outline a screen reader walks: the page, the summary, then each migration with its parts
    const outline = await page.evaluate(() => Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'), (h) => `${h.tagName} ${(h as HTMLElement).innerText}`));
    assert.equal(outline, [
      'H1 dbvc review: shop, base → 0002', 'H2 Migrations',
      'H2 0001 create_product ✓ ok', 'H3 Findings (0)', 'H3 Schema changes', 'H3 Up: sql/shop/0001_create_product.up.sql', 'H3 Down: sql/shop/0001_create_product.down.sql',
      'H2 0002 add_price ✓ ok', 'H3 Findings (0)', 'H3 Schema changes', 'H3 Up: sql/shop/0002_add_price.up.sql', 'H3 Down: sql/shop/0002_add_price.down.sql',
    ]);
    assert.is(await page.getByRole('table').getByRole('row').count(), 3);
  });
});

register('locks and findings: the badge sits just above the statement that takes the lock, the finding at its line', async ({ browser }) => {
  const opened = await openPage(browser!, 'risky', renderReviewPage(riskyReport()));
  await checkPage(opened, 'risky', async (page) => {
    assert.match(await text(page, '.verdict'), /⚠ findings\s+2 findings \(1 error, 1 warning, 0 notes\)/);
    assert.match(await text(page, 'table.summary tbody tr'), /AccessExclusiveLock on public\.product[\s\S]*rewrites public\.product[\s\S]*error\s×\s1[\s\S]*warning\s×\s1/);
    const lock = await markAbove(page, 'm1-0005-up-L4');
    assert.ok(lock, 'a marks box above up line 4');
    assert.match(lock!.text, /Statement at line 4[\s\S]*AccessExclusiveLock on public\.product \(blocks reads and writes\)[\s\S]*rewrites public\.product/);
    assert.ok(lock!.gap >= -1 && lock!.gap < 12, `the badge is ${lock!.gap} px above its line`);
    const finding = await markAbove(page, 'm1-0005-up-L7');
    assert.match(finding!.text, /ShareLock on public\.product \(blocks writes\)/);
    assert.match(finding!.text, /warning\s+require-concurrent-index-creation \(squawk, line 7, column 1\)[\s\S]*Help: Use `CONCURRENTLY`/);
    assert.match(lock!.text, /error\s+rewrite-under-access-exclusive/);
    // the code block scrolls sideways; its marks stay in view
    const scrolled = await page.evaluate(() => {
      const code = document.querySelector('#m1-0005-up-L5')!.closest('.code') as HTMLElement;
      code.scrollLeft = 150;
      return { scrolls: code.scrollWidth > code.clientWidth, left: code.scrollLeft };
    });
    assert.ok(scrolled.scrolls && scrolled.left > 0, 'the up listing scrolls at 390 px');
    const after = await markAbove(page, 'm1-0005-up-L4');
    assert.ok(after!.left >= 0 && after!.right <= 390.5, `the mark moved out of view: ${after!.left}..${after!.right}`);
  });
});

register('a down that does not revert: the verdict, the row and the differences', async ({ browser }) => {
  const opened = await openPage(browser!, 'not-reverting', renderReviewPage(notRevertingReport()));
  await checkPage(opened, 'not-reverting', async (page) => {
    assert.match(await text(page, '.verdict'), /⚠ findings\s+1 down not reverting its up/);
    assert.match(await text(page, 'table.summary tbody tr'), /Down reverts\s*:?\s*✗ no|✗ no/);
    assert.match(await text(page, 'section .reverts'), /Down reverts the up:\s*✗ no/);
    const differences = await page.locator('section .reverts ~ ul.changes li').allInnerTexts();
    assert.equal(differences, ['+ added column public.orders.status: left behind by the down', '+ added enum public.order_status: left behind by the down']);
  });
});

register('a failed up: the verdict, the error at its line; a migration without a down or file text still reads', async ({ browser }) => {
  const opened = await openPage(browser!, 'failed', renderReviewPage(failedReport()));
  await checkPage(opened, 'failed', async (page) => {
    assert.match(await text(page, '.verdict'), /✗ failed\s+1 migration failed on the scratch database/);
    const rows = await page.locator('table.summary tbody tr').allInnerTexts();
    assert.match(rows[0], /0011 bad_column[\s\S]*✗ failed[\s\S]*not checked/);
    assert.match(rows[1], /0012 one_way[\s\S]*✓ ok[\s\S]*ShareUpdateExclusiveLock on public\.product \(blocks other DDL and VACUUM\)[\s\S]*no down file/);
    const failure = await markAbove(page, 'm1-0011-up-L2');
    assert.match(failure!.text, /The up failed here on the scratch database \(line 2\)\s+sql\/shop\/0011_bad_column\.up\.sql:2 SQLSTATE 42703: column "nope" does not exist/);
    assert.match(await text(page, '#m1-0011'), /Up again after down\s+not tried \(the up failed\)/);
    assert.match(await text(page, '#m1-0011'), /Time on the scratch database\s+up 1\.3 ms\n/);
    // no file text in the report: the traced statements stand at their own lines
    assert.match(await text(page, '#m2-0012-up-L3'), /^3\s*VACUUM product$/);
    assert.match((await markAbove(page, 'm2-0012-up-L4'))!.text, /SomeFutureLock on public\.product \(an unknown lock mode\)/);
    assert.match(await text(page, '#m2-0012'), /no transaction[\s\S]*This migration cannot be downgraded/);
  });
});

register('hostile report text is shown, never run: no script, no image, nothing executed', async ({ browser }) => {
  const opened = await openPage(browser!, 'evil', renderReviewPage(evilReport()), { javaScript: true });
  await checkPage(opened, 'evil', async (page) => {
    const seen = await page.evaluate(() => ({
      tags: document.querySelectorAll('script, img, iframe, object, embed').length,
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
      body: document.body.innerText,
      title: document.title,
    }));
    assert.is(seen.tags, 0);
    assert.is(seen.pwned, null);
    assert.ok(seen.title.includes(EVIL), 'the title shows the target as text');
    assert.ok(seen.body.split(EVIL).length > 8, 'the hostile text appears as text throughout');
    assert.match(await text(page, '#m1-0009-up-L2'), /COMMENT ON TABLE product IS '<\/script><script>/);
  });
});

register('at 390 px nothing but the code blocks is wider than the screen', async ({ browser }) => {
  const reports = [['clean', cleanReport()], ['risky', riskyReport()], ['not-reverting', notRevertingReport()], ['failed', failedReport()], ['evil', evilReport()]] as const;
  for (const [name, report] of reports) {
    const opened = await openPage(browser!, `${name}-390`, renderReviewPage(report), { width: 390 });
    await checkPage(opened, `${name}-390`, async (page) => {
      assert.equal(await overflowing(page, 390), [], name);
    });
  }
});

register('every text keeps a contrast of 4.5:1 against its background', async ({ browser }) => {
  for (const [name, report] of [['risky', riskyReport()], ['failed', failedReport()], ['not-reverting', notRevertingReport()]] as const) {
    const opened = await openPage(browser!, `${name}-contrast`, renderReviewPage(report), { width: 1024 });
    await checkPage(opened, `${name}-contrast`, async (page) => {
      assert.equal(await lowContrast(page), [], name);
    });
  }
});

register('printed, the code blocks wrap instead of hiding what passes the page width', async ({ browser }) => {
  const opened = await openPage(browser!, 'risky-print', renderReviewPage(riskyReport()), { width: 390 });
  await checkPage(opened, 'risky-print', async (page) => {
    await page.emulateMedia({ media: 'print' });
    const clipped = await page.evaluate(() => Array.from(document.querySelectorAll('.code'))
      .filter((code) => code.scrollWidth > code.clientWidth + 1).map((code) => code.getAttribute('aria-label')));
    assert.equal(clipped, []);
    const pdf = await page.pdf({ format: 'A4' });
    assert.ok(pdf.length > 1000 && pdf.subarray(0, 5).toString() === '%PDF-', 'a PDF came out');
  });
});

register('with JavaScript off the page shows exactly what it shows with it on', async ({ browser }) => {
  for (const [name, report] of [['risky', riskyReport()], ['not-reverting', notRevertingReport()]] as const) {
    const html = renderReviewPage(report);
    const on = await openPage(browser!, `${name}-js`, html, { javaScript: true, width: 1024 });
    let withScript = '';
    await checkPage(on, `${name}-js`, async (page) => { withScript = await page.evaluate(() => document.body.innerText); });
    const off = await openPage(browser!, `${name}-nojs`, html, { javaScript: false, width: 1024 });
    await checkPage(off, `${name}-nojs`, async (page) => {
      assert.is(await page.evaluate(() => document.body.innerText), withScript);
      assert.ok(withScript.includes('AccessExclusiveLock'));
    });
  }
});

browserSuite.run();
