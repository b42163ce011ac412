// schema.sql as text: migra's statements, with the gaps dbvc fills around it (issue 15), behind a short header.
import { quoteIdent } from './ledger.js';
import type { SchemaChange } from './review.js';
import type { SchemaObject } from './snapshot.js';

export interface SchemaFill {
  sequences: SchemaObject[]; // the head snapshot's sequences: migra writes CREATE SEQUENCE without its options
  comments: string[]; // COMMENT ON statements read from head: migra writes none
}

/**
 * The schema file: `header` lines as comments, then migra's statements, each ended by a semicolon (migra leaves
 * CREATE DOMAIN open), with domains moved before the first table (migra creates them after the tables that use
 * them), sequences given their options, and the comments last. Pure and deterministic.
 */
export function assembleSchema(header: string[], statements: string[], fill: SchemaFill): string {
  const ended = statements.map(endStatement);
  const ordered = moveDomainsFirst(ended);
  const sequences = new Map(fill.sequences.map((s) => [s.name, s]));
  const filled = ordered.map((s) => fillSequence(s, sequences));
  const body = [...filled, ...fill.comments.map(endStatement)];
  return addHeader(header, body.join('\n\n') + '\n');
}

/** `text` behind `header` as comment lines and a blank line (none for an empty header). Pure. */
export function addHeader(header: string[], text: string): string {
  const comments = header.map((line) => `-- ${line}`.trimEnd());
  return comments.length > 0 ? `${comments.join('\n')}\n\n${text}` : text;
}

function endStatement(statement: string): string {
  const text = statement.trim();
  return text.endsWith(';') ? text : `${text};`;
}

function moveDomainsFirst(statements: string[]): string[] {
  const isDomain = (s: string) => /^create\s+domain\b/i.test(s);
  const domains = statements.filter(isDomain);
  const rest = statements.filter((s) => !isDomain(s));
  const firstTable = rest.findIndex((s) => /^create\s+(unlogged\s+)?table\b/i.test(s));
  if (domains.length === 0 || firstTable < 0) return statements;
  return [...rest.slice(0, firstTable), ...domains, ...rest.slice(firstTable)];
}

const BARE_SEQUENCE = /^create sequence "((?:[^"]|"")+)"\."((?:[^"]|"")+)";$/i;

function fillSequence(statement: string, sequences: Map<string, SchemaObject>): string {
  const match = BARE_SEQUENCE.exec(statement);
  if (!match) return statement;
  const [schema, name] = [match[1], match[2]].map((part) => part.replaceAll('""', '"'));
  const sequence = sequences.get(`${schema}.${name}`);
  if (!sequence) return statement;
  const p = sequence.props;
  const cycle = p.cycle === 'true' ? ' cycle' : '';
  return `${statement.slice(0, -1)} as ${p.type} increment by ${p.increment} minvalue ${p.min} maxvalue ${p.max} start with ${p.start}${cycle};`;
}

/**
 * What `check` says about one difference between the migrations' head and schema.sql (compareSnapshots(head, file)),
 * with the command that settles it. `db` is the flag to repeat ("" for the default target).
 */
export function explainDifference(change: SchemaChange, db: string): string {
  const what = `${change.kind} ${change.name}`;
  const dump = `dbvc dump${db}`;
  const revision = `dbvc revision NAME --autogenerate${db}`;
  if (change.change === 'added') return `schema.sql has ${what}, the migrations do not: run ${revision}`;
  if (change.change === 'removed') return `the migrations have ${what}, schema.sql does not: run ${dump}`;
  return `${what} differs (the migrations -> schema.sql: ${change.detail}): run ${dump} to take the migrations', or ${revision} to make schema.sql's`;
}

export interface MigrationBody {
  statements: string[]; // as written to the file, marks excluded: what verification runs one by one
  text: string;
  risks: string[]; // the first line of each statement marked as dropping or possibly losing data
}

// Only what holds rows: a dropped view, index or constraint is rebuilt from its definition, a table or column is not.
const DROPS = /^(drop\s+table\s|alter\s+table\s.*\sdrop\s+column\s)/is;
const TYPE_CHANGE = /^alter\s+table\s.*\salter\s+column\s.*\stype\s/is;

/**
 * A generated migration's body: migra's statements with the fills of assembleSchema, `comments` after them, and a
 * comment above each statement that drops something (data goes with it) or changes a column's type (it can fail or
 * truncate). Pure.
 */
export function renderMigrationBody(statements: string[], fill: SchemaFill): MigrationBody {
  const sequences = new Map(fill.sequences.map((s) => [s.name, s]));
  const ready = [...moveDomainsFirst(statements.map(endStatement)).map((s) => fillSequence(s, sequences)), ...fill.comments.map(endStatement)];
  const risks: string[] = [];
  const parts = ready.map((statement) => {
    const mark = DROPS.test(statement) ? 'DROPS DATA: what it drops is gone once this runs' : TYPE_CHANGE.test(statement) ? 'MAY LOSE DATA: a type change can fail or truncate' : '';
    if (!mark) return statement;
    risks.push(statement.split('\n')[0]);
    return `-- ${mark}\n${statement}`;
  });
  return { statements: ready, text: parts.length > 0 ? `${parts.join('\n\n')}\n` : '', risks };
}

/**
 * A column dropped and another added in the same table, in one change, may be a rename, which migra cannot tell:
 * the pair it drafts drops the data. One note per such table, naming the RENAME COLUMN to write instead. Pure.
 */
export function findPossibleRenames(changes: SchemaChange[]): string[] {
  const columns = (change: SchemaChange['change']) => changes.filter((c) => c.kind === 'column' && c.change === change).map((c) => splitColumn(c.name));
  const removed = columns('removed');
  const added = columns('added');
  const notes: string[] = [];
  for (const table of [...new Set(removed.map((c) => c.table))]) {
    const gone = removed.filter((c) => c.table === table);
    const come = added.filter((c) => c.table === table);
    if (come.length === 0) continue;
    const [from, to] = [gone[0].column, come[0].column];
    notes.push(`${table}: column ${gone.map((c) => c.column).join(', ')} dropped and ${come.map((c) => c.column).join(', ')} added; if that is a rename, write ALTER TABLE ${table} RENAME COLUMN ${from} TO ${to}; instead (the drafted pair loses the column's data)`);
  }
  return notes;
}

function splitColumn(name: string): { table: string; column: string } {
  const cut = name.lastIndexOf('.');
  return { table: name.slice(0, cut), column: name.slice(cut + 1) };
}

export interface ConcurrentSplit {
  up: string[]; // migra's up without the indexes moved
  down: string[]; // migra's down without their drops
  concurrentUp: string[]; // CREATE INDEX CONCURRENTLY of each moved index, for a -- dbvc:no-transaction file
  concurrentDown: string[]; // DROP INDEX CONCURRENTLY IF EXISTS of each, in reverse order
}

const NAME = String.raw`(?:"(?:[^"]|"")+"|[^\s."]+)`;
const CREATE_INDEX = new RegExp(String.raw`^create (unique )?index (${NAME}) on (?:only )?(${NAME})\.(${NAME}) using `, 'i');
const DROP_INDEX = new RegExp(String.raw`^drop index if exists (${NAME})\.(${NAME});?$`, 'i');
const USING_INDEX = new RegExp(String.raw`\susing index (${NAME})`, 'gi');

/**
 * Moves each index migra creates on a table that already exists (`existingTables`: "schema.table", unquoted, not
 * partitioned) to CREATE INDEX CONCURRENTLY, with its DROP INDEX CONCURRENTLY for the down: building it then blocks
 * no writes. An index that a constraint of the same up adopts (ADD CONSTRAINT ... USING INDEX) stays where it is, and
 * so does one on a table this up creates (it is empty). Works on migra's own statement text. Pure.
 */
export function splitConcurrentIndexes(up: string[], down: string[], existingTables: Set<string>): ConcurrentSplit {
  const adopted = new Set(up.flatMap((s) => [...s.matchAll(USING_INDEX)].map((m) => unquote(m[1]))));
  const moved: { key: string; create: string; drop: string }[] = [];
  const kept = up.filter((statement) => {
    const match = CREATE_INDEX.exec(statement.trim());
    if (!match) return true;
    const [, , index, schema, table] = match.map((part) => (part === undefined ? part : unquote(part)));
    if (!existingTables.has(`${schema}.${table}`) || adopted.has(index)) return true;
    const create = statement.trim().replace(/^create (unique )?index /i, (_, unique) => `CREATE ${unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY `);
    moved.push({ key: `${schema}\0${index}`, create: endStatement(create), drop: `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(schema)}.${quoteIdent(index)};` });
    return false;
  });
  const movedKeys = new Set(moved.map((m) => m.key));
  const isMovedDrop = (statement: string) => {
    const match = DROP_INDEX.exec(statement.trim());
    return match !== null && movedKeys.has(`${unquote(match[1])}\0${unquote(match[2])}`);
  };
  return { up: kept, down: down.filter((s) => !isMovedDrop(s)), concurrentUp: moved.map((m) => m.create), concurrentDown: moved.map((m) => m.drop).reverse() };
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}

/**
 * migra drops a table's indexes before the table, which DROP TABLE does anyway; a linter reads each such DROP INDEX
 * as a lock to avoid (squawk's require-concurrent-index-deletion). Leaves out the drops of `indexes` ("schema.name",
 * unquoted: those of the tables the statements drop). Pure.
 */
export function leaveOutIndexDrops(statements: string[], indexes: Set<string>): string[] {
  return statements.filter((statement) => {
    const match = DROP_INDEX.exec(statement.trim());
    return match === null || !indexes.has(`${unquote(match[1])}.${unquote(match[2])}`);
  });
}

/** The table an index definition (pg_get_indexdef) is on, "schema.table" unquoted; null when it cannot tell. */
export function tableOfIndex(definition: string): string | null {
  const match = new RegExp(String.raw` ON (?:ONLY )?(${NAME})\.(${NAME}) USING `).exec(definition);
  return match ? `${unquote(match[1])}.${unquote(match[2])}` : null;
}
