// Reads envs/<db>.env with dotenv.parse (process.env is left alone), refusing lines dotenv would misread.
import { readFileSync } from 'node:fs';
import dotenv from 'dotenv';
import { DbvcError } from './core/errors.js';

/** Reads an env file with dotenv.parse (process.env is left alone); undefined when the file is absent. */
export function readEnvFile(path: string, label: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DbvcError('config', `${label} cannot be read (${(error as NodeJS.ErrnoException).code})`, { file: label });
  }
  const bad = findMalformedLine(text);
  if (bad) {
    throw new DbvcError('config', `${label}:${bad} is not a KEY=value line`, { file: label, hint: 'env files hold KEY=value lines and # comments' });
  }
  const cut = findCutValue(text);
  if (cut) {
    throw new DbvcError('config', `${label}:${cut.line}: the value of ${cut.key} holds a #, and dotenv reads the rest of the line as a comment: the value would be cut short`, {
      file: label, hint: `put the value in double quotes (${cut.key}="..."), or in a URL write # as %23`,
    });
  }
  return dotenv.parse(text);
}

/**
 * The first unquoted value dotenv would cut at a #: one glued to the value (p@ss#2024), or in DATABASE_URL one
 * followed by more of the URL (an @). "KEY=value # note" is a comment and stays one.
 */
function findCutValue(text: string): { line: number; key: string } | undefined {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=(\s*)([^"'`\s].*)?$/.exec(lines[i]);
    const value = match?.[3];
    if (!match || !value) continue;
    const at = value.indexOf('#');
    if (at === -1) continue;
    const isGlued = at > 0 ? !/\s/.test(value[at - 1]) : match[2] === '';
    if (isGlued || (match[1] === 'DATABASE_URL' && value.slice(at).includes('@'))) return { line: i + 1, key: match[1] };
  }
  return undefined;
}

/** Line number of the first line that is neither blank, a comment, KEY=value, nor inside a quoted value. */
function findMalformedLine(text: string): number | undefined {
  const lines = text.split(/\r?\n/);
  let openQuote: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = undefined;
      continue;
    }
    if (/^\s*(#.*)?$/.test(line)) continue;
    const match = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*(["'`]?)(.*)$/.exec(line);
    if (!match) return i + 1;
    const quote = match[1];
    if (quote && !match[2].includes(quote)) openQuote = quote;
  }
  return undefined;
}
