// schema.sql as text: migra's statements, with the gaps dbvc fills around it (issue 15), behind a short header.
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
  const comments = header.map((line) => `-- ${line}`.trimEnd());
  return [...(comments.length > 0 ? [comments.join('\n')] : []), ...body].join('\n\n') + '\n';
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
