# The commands people type. DB picks the target (sql/$(DB)/, envs/$(DB).env); REV a revision.
# Make prints nothing of its own on stdout (no command echo, no directory lines; the build talks on stderr), so
# `make migrate SQL=1 > f.sql` holds the script alone. The variables reach the commands through the environment
# ("$$NAME"), never pasted into the shell line: NAME="fix customer's email" stays one argument.
DB ?= local
REV ?=
NAME ?=
SQL ?=
OUT ?=
# DB=all runs every target that has sql/<db>/ and envs/<db>.env (a fleet, README: Fleets); DB=a,b some of them;
# PARALLEL=N databases at once in a fleet run
PARALLEL ?=
export DB REV NAME OUT PARALLEL
MAKEFLAGS += --no-print-directory
.SILENT:
DBVC = node dist/dbvc.cjs
# the shell, not make, expands the variables, so any value reaches dbvc as one argument: SELECT sets "$$@" to the targets
SELECT = if [ "$$DB" = all ]; then set -- --all; else set -- --db "$$DB"; fi;
TARGETS = "$$@" $${PARALLEL:+--parallel "$$PARALLEL"}
# SQL=1 renders the script instead of running it (REV may be a range FROM:TO); OUT=file.sql or OUT=dir/ saves it
OFFLINE = $(if $(SQL),--sql $${OUT:+--out "$$OUT"})

.PHONY: install build migrate rollback status history current stamp revision repair test clean

install: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error >&2
	touch $@

# tsc checks the types and writes the library (dist/api.js); esbuild writes the command: dist/dbvc.cjs, a small
# CommonJS entry, and dist/cli.cjs, the CLI with its packages in one file (src/bin.ts says why)
ESBUILD = node_modules/.bin/esbuild --bundle --platform=node --format=cjs --target=node20 --log-level=warning
build: dist/dbvc.cjs
dist/dbvc.cjs: node_modules/.installed tsconfig.json $(shell find src -name '*.ts')
	echo 'building dist/ (tsc, esbuild)' >&2
	node_modules/.bin/tsc -p tsconfig.json >&2
	$(ESBUILD) src/cli.ts --outfile=dist/cli.cjs >&2
	$(ESBUILD) src/bin.ts --outfile=dist/dbvc.cjs --external:./cli.cjs --banner:js='#!/usr/bin/env node' >&2
	chmod +x dist/dbvc.cjs

migrate: build
	$(SELECT) $(DBVC) upgrade $${REV:+"$$REV"} $(TARGETS) $(OFFLINE)

rollback: build
	$(SELECT) $(DBVC) downgrade "$${REV:--1}" $(TARGETS) $(OFFLINE)

status: build
	$(SELECT) $(DBVC) status $(TARGETS)

history: build
	$(DBVC) history --db "$$DB"

current: build
	$(SELECT) $(DBVC) current $(TARGETS)

stamp: build
	test -n "$$REV" || { echo 'usage: make stamp DB=aiven REV=0003' >&2; exit 2; }
	$(DBVC) stamp "$$REV" --db "$$DB"

repair: build
	$(DBVC) repair --db "$$DB"

revision: build
	test -n "$$NAME" || { echo 'usage: make revision DB=aiven NAME="add orders"' >&2; exit 2; }
	$(DBVC) revision "$$NAME" --db "$$DB"

test: build
	node test/run.mjs

# The robust scenarios of issue 5, repeated far more (concurrent deploys, killed runs, server crashes): slow
.PHONY: soak
soak: build
	DBVC_SOAK=1 node test/run.mjs robust

clean:
	rm -rf dist node_modules/.installed

# Issue 6: times whole dbvc runs against psql and node floors; writes bench/out/latest.md and latest.json.
# BENCH_ARGS="--sizes 1000 --runs 3" narrows it; BENCH_DATABASE_URL=postgres://... uses that server instead of an embedded one.
# Then issue 17: what writing the review page adds to a review of 20 migrations (bench/out/page.md).
# Then issue 16 (W7): fleet status over 50 databases, and upgrade of 20 migrations over 50 at --parallel 1 and 8
# beside 50 sequential processes (bench/out/fleet.md; FLEET_DATABASES=N FLEET_RUNS=N narrow it).
# Then issue 15: dbvc check and revision --autogenerate on 1000 migrations, warm (bench/out/authoring.md).
BENCH_ARGS ?=
.PHONY: bench bench-page bench-fleet
bench: build
	node bench/run.mjs $(BENCH_ARGS)
	node bench/review.mjs
	node bench/page.mjs
	node bench/fleet.mjs
	node bench/authoring.mjs

bench-fleet: build
	node bench/fleet.mjs

bench-page: build
	node bench/page.mjs

# Issue 15 alone: dbvc check and revision --autogenerate (one added column) on 1000 migrations, warm (bench/out/authoring.md)
.PHONY: bench-authoring
bench-authoring: build
	node bench/authoring.mjs

# W6 alone (issue 14): dbvc review of 1 new migration on 1000 applied, cold and warm, beside W1
.PHONY: bench-review
bench-review: build
	node bench/review.mjs
