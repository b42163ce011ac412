// Alembic's offline scripts (alembic upgrade/downgrade --sql) -> its revisions in chain order -> dbvc SQL file pairs.
import { DbvcError } from './errors.js';
import { lineOf, scanSql, type Statement } from './lexer.js';

export interface AlembicSql {
  sql: string; // as Alembic printed it, without its bookkeeping; '' when it printed none (a `pass`)
  noTransaction: boolean; // Alembic leaves its transaction inside the revision (autocommit_block: COMMIT; ... BEGIN;)
  line: number; // of the revision's "-- Running" comment in its script
}

export interface AlembicRevision {
  id: string;
  parent: string | null; // null: the first revision
  message: string | null; // from Alembic's "Running upgrade" log lines, when the script holds them
  up: AlembicSql;
  down: AlembicSql | null; // null: the downgrade script has no section for it, or none was given
}

export interface AlembicHistory {
  revisions: AlembicRevision[]; // from base to head
  warnings: string[];
}

export interface ExistingMigrations {
  numbers: bigint[]; // the versions already in the folder
  imported: Map<string, string>; // Alembic revision id -> the file that already declares it
}

export interface ImportedFile {
  name: string;
  text: string;
}

type Direction = 'upgrade' | 'downgrade';

interface Section {
  id: string;
  parents: string[];
  sql: AlembicSql;
}

interface Script {
  sections: Section[];
  messages: Map<string, string>;
  warnings: string[];
}

const MARKER = /^-- Running (upgrade|downgrade) (.*)$/gm;
const LOG_LINE = /^(INFO|WARNI|WARNING|ERROR|DEBUG|CRITI|CRITICAL) *\[(?:alembic|flask_migrate)[\w.]*\] (.*)$/;
const FAILED_LINE = /^FAILED: (.*)$/; // what the alembic command prints last when it gives up
const REVISION_ID = /^\w{1,32}$/;
const SLUG_LENGTH = 40; // Alembic's own truncate_slug_length
const BRANCH_HINT = 'dbvc keeps one line of migrations: make the Alembic history linear first (one head, no merges), or write a baseline SQL file and adopt the database with dbvc stamp REV --purge; nothing was written';

/**
 * Reads the text of `alembic upgrade base:head --sql` and, optionally, `alembic downgrade head:base --sql`.
 * Throws a 'file' or 'usage' DbvcError naming the script and line for anything that is not one line of revisions.
 */
export function readAlembicScripts(upgradeScript: string, downgradeScript?: string): AlembicHistory {
  const up = readScript(upgradeScript, 'upgrade');
  const chain = orderChain(up.sections);
  const down = downgradeScript === undefined ? undefined : readScript(downgradeScript, 'downgrade');
  const downs = down ? matchDowngrades(down.sections, chain) : new Map<string, AlembicSql>();
  const messages = new Map([...(down?.messages ?? []), ...up.messages]);
  const revisions = chain.map((s) => ({
    id: s.id, parent: s.parents[0] ?? null, message: messages.get(s.id) ?? null, up: s.sql, down: downs.get(s.id) ?? null,
  }));
  return { revisions, warnings: [...up.warnings, ...(down?.warnings ?? [])] };
}

function scriptLabel(direction: Direction): string {
  return `the ${direction} script`;
}

function commandFor(direction: Direction): string {
  return direction === 'upgrade' ? 'alembic upgrade base:head --sql' : 'alembic downgrade head:base --sql';
}

function readScript(raw: string, direction: Direction): Script {
  const label = scriptLabel(direction);
  const { text, messages } = dropLogLines(raw.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n'), label);
  const statements = scanSql(text).statements;
  refuseTruncated(text, statements, direction);
  const markers = findMarkers(text, statements, direction);
  const versionTables = new Set<string>();
  const warnings = preambleWarnings(text, statements, markers[0].index, versionTables, label);
  const sections: Section[] = [];
  for (let k = 0; k < markers.length; k++) {
    const marker = markers[k];
    const end = k + 1 < markers.length ? markers[k + 1].index : text.length;
    const inside = statements.filter((s) => s.first >= marker.bodyStart && s.first < end);
    const sql = extractSql(text, marker.bodyStart, end, inside, versionTables);
    sections.push({ ...parseStep(marker.step, direction, `${label} line ${marker.line}`), sql: { ...sql, line: marker.line } });
  }
  return { sections, messages, warnings };
}

/** Alembic logs to stderr; a script saved with 2>&1 holds its log lines, which name each revision's message. */
function dropLogLines(text: string, label: string): { text: string; messages: Map<string, string> } {
  const messages = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const failed = FAILED_LINE.exec(lines[i]);
    const match = failed ? [lines[i], 'FAILED', failed[1]] : LOG_LINE.exec(lines[i]);
    if (!match) continue;
    const [, level, message] = match;
    if (level === 'FAILED' || level === 'ERROR' || level.startsWith('CRITI')) {
      throw new DbvcError('file', `${label} holds an Alembic error at line ${i + 1}: ${message}`, {
        hint: 'fix the Alembic project until its --sql output has no error, then import again; nothing was written',
      });
    }
    noteMessage(message, messages);
    lines[i] = '';
  }
  return { text: lines.join('\n'), messages };
}

/** "Running upgrade A -> B, message" and "Running downgrade B -> A, message" (A is empty at base). */
function noteMessage(logged: string, messages: Map<string, string>): void {
  const match = /^Running (upgrade|downgrade) (.*?) ?-> ?(.*)$/.exec(logged);
  if (!match) return;
  const [, direction, left, right] = match;
  const comma = right.indexOf(', ');
  if (comma === -1) return;
  const id = direction === 'upgrade' ? right.slice(0, comma).trim() : left.trim();
  const message = right.slice(comma + 2).trim();
  if (REVISION_ID.test(id) && message !== '') messages.set(id, message);
}

function refuseTruncated(text: string, statements: Statement[], direction: Direction): void {
  if (statements.length === 0) return;
  const first = statementWords(text, statements[0]);
  const last = statementWords(text, statements[statements.length - 1]);
  if (/^BEGIN$/i.test(first) && !/^COMMIT$/i.test(last)) {
    const raised = direction === 'downgrade'
      ? '; if a downgrade() raises (an irreversible revision REV), render the ranges around it, alembic downgrade head:REV --sql and alembic downgrade PARENT:base --sql, and import the two outputs as one script'
      : '';
    throw new DbvcError('file', `${scriptLabel(direction)} opens a transaction (BEGIN;) that it never commits: Alembic stopped part-way`, {
      hint: `look at the errors ${commandFor(direction)} printed${raised}; nothing was written`,
    });
  }
}

interface Marker {
  index: number; // where the comment line starts
  bodyStart: number; // just past it
  line: number;
  step: string; // "A -> B"
}

/** The "-- Running" comments outside any statement (one inside a dollar-quoted body is SQL, not a marker). */
function findMarkers(text: string, statements: Statement[], direction: Direction): Marker[] {
  const label = scriptLabel(direction);
  const markers: Marker[] = [];
  for (const match of text.matchAll(MARKER)) {
    const index = match.index!;
    if (statements.some((s) => s.first <= index && index < s.end)) continue;
    const line = lineOf(text, index);
    if (match[1] !== direction) {
      throw new DbvcError('usage', `${label} runs a ${match[1]} at line ${line} ("${match[0].trim()}")`, {
        hint: `give the output of ${commandFor(direction)} as the ${direction} script; nothing was written`,
      });
    }
    markers.push({ index, bodyStart: index + match[0].length, line, step: match[2] });
  }
  if (markers.length === 0) {
    throw new DbvcError('file', `${label} has no "-- Running ${direction}" comments: it is not what ${commandFor(direction)} prints`, {
      hint: `save the output of ${commandFor(direction)} and import that; nothing was written`,
    });
  }
  return markers;
}

function parseStep(step: string, direction: Direction, where: string): { id: string; parents: string[] } {
  const arrow = step.indexOf('->');
  if (arrow === -1) throw new DbvcError('file', `${where} has no "->" in its "-- Running ${direction}" comment`, { hint: 'import the script as Alembic printed it' });
  const from = splitIds(step.slice(0, arrow), where);
  const to = splitIds(step.slice(arrow + 2), where);
  const [moved, other] = direction === 'upgrade' ? [to, from] : [from, to];
  if (moved.length !== 1) {
    throw new DbvcError('file', `${where} ${direction}s ${moved.length === 0 ? 'no revision' : `${moved.length} revisions at once (${moved.join(', ')})`}`, { hint: BRANCH_HINT });
  }
  return { id: moved[0], parents: other };
}

function splitIds(list: string, where: string): string[] {
  const ids = list.split(',').map((id) => id.trim()).filter((id) => id !== '');
  for (const id of ids) {
    if (!REVISION_ID.test(id)) {
      throw new DbvcError('file', `${where} names Alembic revision "${id}", which dbvc cannot record (letters, digits and _ only, at most 32)`, {
        hint: 'give the revision a plain id in Alembic (alembic revision --rev-id), or write its SQL file by hand; nothing was written',
      });
    }
  }
  return ids;
}

function statementWords(text: string, s: Statement): string {
  return text.slice(s.first, s.end).replace(/;$/, '').replace(/\s+/g, ' ').trim();
}

type Kind = 'transaction' | 'version' | 'sql';

/** Alembic's own statements: BEGIN; / COMMIT;, and the DDL and writes of its version table (any name, any schema). */
function classify(words: string, versionTables: Set<string>): Kind {
  if (/^(BEGIN|COMMIT)$/i.test(words)) return 'transaction';
  const write =
    /^CREATE TABLE (\S+) \( ?version_num VARCHAR\(\d+\) NOT NULL, ?CONSTRAINT \S+ PRIMARY KEY \(version_num\) ?\)$/i.exec(words) ??
    /^INSERT INTO (\S+) \(version_num\) VALUES \('\w+'\)(?: RETURNING \S+)?$/i.exec(words) ??
    /^UPDATE (\S+) SET version_num ?= ?'\w+' WHERE \S+\.version_num = '\w+'$/i.exec(words) ??
    /^DELETE FROM (\S+) WHERE \S+\.version_num = '\w+'$/i.exec(words);
  if (write) {
    versionTables.add(write[1]);
    return 'version';
  }
  const drop = /^DROP TABLE (\S+)$/i.exec(words);
  return drop && versionTables.has(drop[1]) ? 'version' : 'sql';
}

/** The region's SQL without Alembic's statements; everything kept is sliced from the script as printed. */
function extractSql(text: string, start: number, end: number, statements: Statement[], versionTables: Set<string>): Omit<AlembicSql, 'line'> {
  const kinds = statements.map((s) => classify(statementWords(text, s), versionTables));
  const lastSql = kinds.lastIndexOf('sql');
  if (lastSql === -1) return { sql: '', noTransaction: false };
  const noTransaction = kinds.some((kind, i) => kind === 'transaction' && i < lastSql);
  let sql = '';
  for (let i = 0; i < statements.length; i++) {
    if (kinds[i] === 'sql') sql += text.slice(Math.max(statements[i].start, start), statements[i].end);
  }
  sql += text.slice(statements[statements.length - 1].end, end);
  return { sql: sql.replace(/^(?:[ \t]*\n)+/, '').trimEnd() + '\n', noTransaction };
}

function preambleWarnings(text: string, statements: Statement[], end: number, versionTables: Set<string>, label: string): string[] {
  const warnings: string[] = [];
  for (const s of statements.filter((st) => st.first < end)) {
    if (classify(statementWords(text, s), versionTables) !== 'sql') continue;
    const firstLine = text.slice(s.first, s.end).split('\n')[0];
    warnings.push(`${label} line ${lineOf(text, s.first)}: SQL before the first revision was not imported (env.py runs it on every migration): ${firstLine}`);
  }
  return warnings;
}

/** Orders the upgrade sections from base; refuses merges, several bases, branch points and a script not from base. */
function orderChain(sections: Section[]): Section[] {
  const label = scriptLabel('upgrade');
  const byId = new Map<string, Section>();
  const children = new Map<string | null, string[]>();
  for (const section of sections) {
    if (section.parents.length > 1) {
      throw new DbvcError('file', `the Alembic history has branches: revision ${section.id} (${label} line ${section.sql.line}) merges ${section.parents.join(' and ')}`, { hint: BRANCH_HINT });
    }
    if (byId.has(section.id)) {
      throw new DbvcError('file', `${label} runs revision ${section.id} twice (lines ${byId.get(section.id)!.sql.line} and ${section.sql.line})`, {
        hint: `import the output of one run of ${commandFor('upgrade')}; nothing was written`,
      });
    }
    byId.set(section.id, section);
    const parent = section.parents[0] ?? null;
    children.set(parent, [...(children.get(parent) ?? []), section.id]);
  }
  refuseBranches(sections, byId, children);
  const chain: Section[] = [];
  let next = children.get(null)?.[0];
  while (next !== undefined && chain.length < sections.length) {
    chain.push(byId.get(next)!);
    next = children.get(next)?.[0];
  }
  if (chain.length !== sections.length) {
    const off = sections.filter((s) => !chain.includes(s)).map((s) => s.id);
    throw new DbvcError('file', `the upgrade script runs revisions that are not on the line from base: ${off.join(', ')} (their revises loop back)`, { hint: BRANCH_HINT });
  }
  return chain;
}

function refuseBranches(sections: Section[], byId: Map<string, Section>, children: Map<string | null, string[]>): void {
  const orphan = sections.find((s) => s.parents.length === 1 && !byId.has(s.parents[0]));
  if (orphan) {
    throw new DbvcError('usage', `the upgrade script starts at revision ${orphan.parents[0]}, not at base (line ${orphan.sql.line} runs ${orphan.parents[0]} -> ${orphan.id})`, {
      hint: `import the whole history: ${commandFor('upgrade')}; nothing was written`,
    });
  }
  const heads = sections.filter((s) => !children.has(s.id)).map((s) => s.id);
  const bases = children.get(null) ?? [];
  if (bases.length > 1) {
    throw new DbvcError('file', `the Alembic history has ${bases.length} bases (${bases.join(', ')}) and ${heads.length} heads (${heads.join(', ')})`, { hint: BRANCH_HINT });
  }
  for (const [parent, kids] of children) {
    if (kids.length > 1) {
      throw new DbvcError('file', `the Alembic history has ${heads.length} heads (${heads.join(', ')}): revision ${parent} has ${kids.length} children (${kids.join(', ')})`, { hint: BRANCH_HINT });
    }
  }
}

/** Each downgrade section must undo a revision of the chain, back to that revision's parent. */
function matchDowngrades(sections: Section[], chain: Section[]): Map<string, AlembicSql> {
  const label = scriptLabel('downgrade');
  const parents = new Map(chain.map((s) => [s.id, s.parents[0] ?? null]));
  const downs = new Map<string, AlembicSql>();
  for (const section of sections) {
    const where = `${label} line ${section.sql.line}`;
    const hint = `render both scripts from the same Alembic project (${commandFor('upgrade')} and ${commandFor('downgrade')}); nothing was written`;
    if (!parents.has(section.id)) throw new DbvcError('file', `${where} downgrades revision ${section.id}, which the upgrade script does not run`, { hint });
    const expected = parents.get(section.id);
    const actual = section.parents.join(', ') || null;
    if (actual !== expected) {
      throw new DbvcError('file', `${where} downgrades ${section.id} to ${actual ?? 'base'}, but the upgrade script has it revise ${expected ?? 'base'}`, { hint });
    }
    if (downs.has(section.id)) throw new DbvcError('file', `${label} downgrades revision ${section.id} twice (lines ${downs.get(section.id)!.line} and ${section.sql.line})`, { hint });
    downs.set(section.id, section.sql);
  }
  return downs;
}

/**
 * The files for `revisions`, numbered from one above the folder's highest version, each with a header naming its
 * Alembic revision and the dbvc:alembic-revision directive. Returns warnings for what it could not write as asked.
 */
export function renderAlembicFiles(revisions: AlembicRevision[], existing: ExistingMigrations): { files: ImportedFile[]; warnings: string[] } {
  refuseImported(revisions, existing.imported);
  const highest = existing.numbers.reduce((a, b) => (b > a ? b : a), 0n);
  const files: ImportedFile[] = [];
  const warnings: string[] = [];
  const hasDowngrades = revisions.some((r) => r.down !== null);
  if (!hasDowngrades) {
    warnings.push(`no downgrade SQL for any of the ${revisions.length} revisions: wrote up files only, so dbvc cannot downgrade across them (import the output of ${commandFor('downgrade')} too)`);
  }
  revisions.forEach((revision, i) => {
    const stem = `${versionFor(revision.id, highest + BigInt(i + 1))}_${slugFor(revision)}`;
    const up = revision.up.sql === '' ? 'SELECT 1; -- Alembic printed no SQL for this upgrade\n' : revision.up.sql;
    if (revision.up.sql === '') warnings.push(`${stem}.up.sql: Alembic printed no SQL for the upgrade of ${revision.id}; the file holds SELECT 1 so dbvc can record the revision`);
    files.push({ name: `${stem}.up.sql`, text: header(stem, 'upgrade', revision, revision.up.noTransaction) + up });
    if (revision.up.noTransaction) warnings.push(noTransactionWarning(`${stem}.up.sql`, revision.id));
    if (revision.down === null) {
      if (hasDowngrades) warnings.push(`${stem}: the downgrade script does not downgrade ${revision.id}; wrote no down file, so dbvc cannot downgrade across it`);
    } else if (revision.down.sql === '') {
      warnings.push(`${stem}: Alembic printed no SQL for the downgrade of ${revision.id} (an empty downgrade(), such as pass); wrote no down file, so dbvc treats it as irreversible`);
    } else {
      files.push({ name: `${stem}.down.sql`, text: header(stem, 'downgrade', revision, revision.down.noTransaction) + revision.down.sql });
      if (revision.down.noTransaction) warnings.push(noTransactionWarning(`${stem}.down.sql`, revision.id));
    }
  });
  return { files, warnings };
}

function refuseImported(revisions: AlembicRevision[], imported: Map<string, string>): void {
  const again = revisions.filter((r) => imported.has(r.id)).map((r) => `${r.id} (${imported.get(r.id)})`);
  if (again.length === 0) return;
  throw new DbvcError('usage', `${again.length === 1 ? 'an Alembic revision is' : `${again.length} Alembic revisions are`} already imported: ${again.join(', ')}`, {
    hint: 'nothing was written; to import the history again, delete the files imported before',
  });
}

/** A numeric Alembic id (alembic revision --rev-id 0003) is a dbvc version already: it must land on its own number. */
function versionFor(id: string, number: bigint): string {
  if (!/^\d+$/.test(id)) return String(number).padStart(4, '0');
  if (BigInt(id) === number) return id;
  throw new DbvcError('usage', `Alembic revision ${id} would be imported as version ${String(number).padStart(4, '0')}, and dbvc would read "${id}" in alembic_version as another file's version`, {
    hint: 'import into a folder whose next free number is the first Alembic revision (usually an empty one); nothing was written',
  });
}

/** The message's words, as Alembic names its own revision files; the revision id when the script has no message. */
function slugFor(revision: AlembicRevision): string {
  const plain = (revision.message ?? '').normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  let slug = '';
  for (const word of plain.match(/[a-z0-9]+/g) ?? []) {
    const longer = slug === '' ? word : `${slug}_${word}`;
    if (longer.length > SLUG_LENGTH) break;
    slug = longer;
  }
  return slug || `alembic_${revision.id}`;
}

function header(stem: string, direction: Direction, revision: AlembicRevision, noTransaction: boolean): string {
  const message = revision.message ? ` "${revision.message.replace(/\s+/g, ' ')}"` : '';
  const revises = revision.parent ? `revises ${revision.parent}` : 'the first revision';
  const lines = [
    `-- ${stem} (${direction}): Alembic revision ${revision.id}${message}, ${revises}.`,
    `-- Imported from what \`${commandFor(direction)}\` printed, without Alembic's alembic_version and BEGIN/COMMIT statements.`,
    `-- dbvc:alembic-revision ${revision.id}`,
  ];
  if (noTransaction) lines.push('-- dbvc:no-transaction');
  return lines.join('\n') + '\n\n';
}

function noTransactionWarning(file: string, id: string): string {
  return `${file}: Alembic runs part of revision ${id} outside a transaction (COMMIT; ... BEGIN; as autocommit_block() prints); the file is marked -- dbvc:no-transaction and those two statements are left out`;
}
