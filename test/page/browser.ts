// Opens review pages in Debian's headless Chromium through playwright-core (its own browser download does not
// work here: shared/FACTS.md). Records what a page asks the network for and what it logs as an error, and keeps
// a screenshot under test/out/page/ when a check fails.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const OUT = resolve(import.meta.dirname, '../out/page');
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser to drive, or why there is none (then the browser tests are skipped, and say so). */
export function findChromium(): { path: string } | { missing: string } {
  const named = process.env.CHROMIUM_PATH;
  if (named) return existsSync(named) ? { path: named } : { missing: `CHROMIUM_PATH=${named} does not exist` };
  const found = CANDIDATES.find((path) => existsSync(path));
  return found ? { path: found } : { missing: `no Chromium at ${CANDIDATES.join(', ')} (apt-get install chromium, or set CHROMIUM_PATH)` };
}

export async function launch(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, args: ['--no-sandbox'] });
}

export interface OpenedPage {
  page: Page;
  url: string; // the file's own URL, the one request the page may make
  requests: string[];
  errors: string[]; // console errors and uncaught exceptions
  close(): Promise<void>;
}

/** Writes the HTML to test/out/page/NAME.html and opens it at the given width, with or without JavaScript. */
export async function openPage(browser: Browser, name: string, html: string, options: { width?: number; javaScript?: boolean } = {}): Promise<OpenedPage> {
  await mkdir(OUT, { recursive: true });
  const file = join(OUT, `${name}.html`);
  await writeFile(file, html);
  const context = await browser.newContext({
    javaScriptEnabled: options.javaScript ?? false,
    viewport: { width: options.width ?? 390, height: 844 },
  });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, url, requests, errors, close: () => context.close() };
}

/** Runs the checks; when one fails, a full-page screenshot goes beside the HTML and the error says where. */
export async function checkPage(opened: OpenedPage, name: string, checks: (page: Page) => Promise<void>): Promise<void> {
  try {
    await checks(opened.page);
    await new Promise((done) => setTimeout(done, 50)); // let a late console error or request arrive
    if (opened.errors.length) throw new Error(`console errors on the page: ${opened.errors.join(' | ')}`);
    const others = opened.requests.filter((url) => url !== opened.url);
    if (others.length) throw new Error(`requests leaving the page: ${others.join(', ')}`);
  } catch (error) {
    const shot = join(OUT, `${name}.failed.png`);
    await opened.page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
    if (error instanceof Error) error.message += `\n    screenshot: ${shot}\n    page: ${join(OUT, `${name}.html`)}`;
    throw error;
  } finally {
    await opened.close();
  }
}

/** Elements outside the code blocks whose right edge passes the viewport, described for the failure message. */
export function overflowing(page: Page, width: number): Promise<string[]> {
  return page.evaluate((limit) => {
    const wide: string[] = [];
    for (const element of Array.from(document.body.querySelectorAll('*'))) {
      if (element.parentElement?.closest('.code')) continue; // inside a code block, which scrolls; the block itself must fit
      const box = element.getBoundingClientRect();
      if (box.right > limit + 0.5) wide.push(`<${element.tagName.toLowerCase()} class="${element.className}"> ends at ${Math.round(box.right)} px`);
    }
    const page = document.documentElement.scrollWidth;
    if (page > limit) wide.push(`the document is ${page} px wide`);
    return wide;
  }, width);
}

// A string, not a function: tsx compiles named inner functions with a __name helper the page does not have.
const CONTRAST_SCRIPT = `(() => {
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
  const linear = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  const luminance = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const color = rgb(getComputedStyle(e).backgroundColor);
      if (color.length === 3 || (color.length === 4 && color[3] > 0)) return color.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const element of document.body.querySelectorAll('*')) {
    const ownText = Array.from(element.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== '');
    if (!ownText) continue;
    const a = luminance(rgb(getComputedStyle(element).color));
    const b = luminance(background(element));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push('<' + element.tagName.toLowerCase() + ' class="' + element.className + '"> ' + ratio.toFixed(2) + ':1 "' + element.textContent.trim().slice(0, 30) + '"');
  }
  return low;
})()`;

/** Text whose colour against its (opaque) background is below WCAG AA's 4.5:1, described for the message. */
export function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(CONTRAST_SCRIPT) as Promise<string[]>;
}
