// Writes the review page to disk: FILE, or DIR/ (a trailing slash or an existing folder) meaning DIR/index.html.
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ReviewReport } from '../core/review.js';
import { renderReviewPage, type PageOptions } from './page.js';

/**
 * Renders the page and writes it atomically (a temporary file beside it, then a rename), so a CI job that
 * uploads the file never sees half a page. Creates missing folders. Returns the path written.
 * Throws what the file system throws (EACCES, ENOTDIR, ...), with the temporary file removed.
 */
export async function writeReviewPage(report: ReviewReport, fileOrDir: string, options: PageOptions = {}): Promise<string> {
  const path = await resolvePagePath(fileOrDir);
  const html = renderReviewPage(report, options);
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${process.pid}.${Date.now()}.dbvc-review.tmp`);
  try {
    await writeFile(temporary, html, 'utf8');
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return path;
}

export async function resolvePagePath(fileOrDir: string): Promise<string> {
  if (/[\\/]$/.test(fileOrDir)) return join(fileOrDir, 'index.html');
  const found = await stat(fileOrDir).catch(() => null);
  return found?.isDirectory() ? join(fileOrDir, 'index.html') : fileOrDir;
}
