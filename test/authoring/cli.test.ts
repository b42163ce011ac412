// dbvc dump and check through the built CLI, on the default scratch server: an embedded PostgreSQL in <project>/.dbvc/scratch.
import { appendFile, chmod, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../helpers/cli.js';
import { fixture, ROOT } from '../helpers/db.js';

const test = suite<{ project: string }>('authoring/cli');

// Under the repository's .dbvc/ (not the OS temp folder): the server runs as the postgres user, who must enter it.
test.before(async (context) => {
  await mkdir(join(ROOT, '.dbvc'), { recursive: true });
  context.project = await mkdtemp(join(ROOT, '.dbvc', 'authoring-cli-'));
  await chmod(context.project, 0o755);
  await cp(fixture('rich'), join(context.project, 'sql', 'local'), { recursive: true });
});

test.after(async (context) => {
  await rm(context.project, { recursive: true, force: true });
});

test('check before dump is exit 2; dump writes sql/local/schema.sql; check is 0, then 3 after a hand edit; --out - prints it', async ({ project }) => {
  const opts = { cwd: project, timeoutMs: 60_000 };
  const missing = await run(['check'], opts);
  assert.is(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /sql\/local\/schema\.sql does not exist, so there is nothing to check/);
  assert.match(missing.stderr, /run dbvc dump to write it from the migrations/);

  const dumped = await run(['dump'], opts);
  assert.is(dumped.code, 0, dumped.stderr);
  assert.is(dumped.stdout, 'wrote sql/local/schema.sql: the schema at 0003\n');
  assert.match(dumped.stderr, /scratch: embedded PostgreSQL \(\.dbvc\/scratch\), PostgreSQL 17\./);
  const text = await readFile(join(project, 'sql', 'local', 'schema.sql'), 'utf8');

  const printed = await run(['dump', '--out', '-'], opts);
  assert.is(printed.code, 0, printed.stderr);
  assert.is(printed.stdout, text, 'the same bytes on stdout');

  const equal = await run(['check'], opts);
  assert.is(equal.code, 0, equal.stderr);
  assert.is(equal.stdout, 'schema.sql equals the migrations at 0003\n');

  await appendFile(join(project, 'sql', 'local', 'schema.sql'), '\nCREATE INDEX person_motto_idx ON public.person (motto);\n');
  const edited = await run(['check', '--json'], opts);
  assert.is(edited.code, 3, edited.stderr);
  const report = JSON.parse(edited.stdout);
  assert.equal(report.differences.map((d: { message: string }) => d.message), ['schema.sql has index public.person_motto_idx, the migrations do not: run dbvc revision NAME --autogenerate']);
});

test('dump --help shows that --out takes FILE or -', async () => {
  const help = await run(['dump', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /^\s+--out FILE\|-\s{2,}Write FILE instead/m);
});

test('revision --from-url without --autogenerate is a usage error (exit 2), and writes nothing', async () => {
  const refused = await run(['revision', 'x', '--from-url', 'postgres://me@localhost/dev', '--dir', 'test/fixtures/shop']);
  assert.is(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /^error --from-url goes with --autogenerate\nhint add --autogenerate to draft the pair from that database\n$/);
});

test.run();
