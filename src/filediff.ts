// What changed in an applied file: the text dbvc_history recorded against the file on disk, as a unified diff.
import { structuredPatch } from 'diff';
import { DbvcError } from './core/errors.js';
import { withoutComments } from './core/lexer.js';
import type { Migration } from './core/plan.js';

/** A unified diff of the recorded text (---) against the file (+++), hunk headers included, no file header. */
export function diffLines(recorded: string, file: string, path: string): string[] {
  const patch = structuredPatch(`${path} (as applied)`, `${path} (on disk)`, recorded, file, '', '', { context: 2 });
  const lines = [`--- ${patch.oldFileName}`, `+++ ${patch.newFileName}`];
  for (const hunk of patch.hunks) {
    lines.push(`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines.filter((l) => !l.startsWith('\\')));
  }
  return lines;
}

/** Whether two SQL texts differ only in whitespace or comments. */
export function isCosmeticChange(recorded: string, file: string): boolean {
  return withoutComments(recorded) === withoutComments(file);
}

/**
 * The drift problems with what changed: whether only whitespace or comments did, and the diff (its first
 * `maxLines` lines, and how many more there are). Problems of other kinds, or without a recorded text, stay as they are.
 */
export function explainDrift(problems: DbvcError[], drifted: Migration[], recordedTexts: Map<string, string>, maxLines = Infinity): DbvcError[] {
  return problems.map((problem) => {
    const migration = drifted.find((m) => problem.file === m.up.path && problem.message.endsWith('changed after it was applied'));
    const recorded = migration && recordedTexts.get(migration.version);
    if (!migration || recorded === undefined) return problem;
    const diff = diffLines(recorded, migration.up.text, migration.up.path);
    const shown = diff.slice(0, maxLines);
    if (diff.length > shown.length) shown.push(`... ${diff.length - shown.length} more lines: dbvc show ${migration.version} prints them all`);
    const verdict = isCosmeticChange(recorded, migration.up.text)
      ? 'only whitespace or comments changed: dbvc repair accepts it safely'
      : 'the SQL itself changed';
    return new DbvcError(problem.code, problem.message, { file: problem.file, hint: problem.hint, cause: problem.cause, lines: [...problem.lines, verdict, ...shown] });
  });
}
