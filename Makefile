# The commands people type. DB picks the target (sql/$(DB)/, envs/$(DB).env); REV a revision.
DB ?= local
REV ?=
NAME ?=
SQL ?=
OUT ?=
DBVC = node dist/dbvc.cjs
# DB=all runs every target that has sql/<db>/ and envs/<db>.env (a fleet, README: Fleets); DB=a,b some of them;
# PARALLEL=N databases at once in a fleet run
PARALLEL ?=
TARGETS = $(if $(filter all,$(DB)),--all,--db '$(DB)')$(if $(PARALLEL), --parallel $(PARALLEL))
# SQL=1 renders the script instead of running it (REV may be a range FROM:TO); OUT=file.sql or OUT=dir/ saves it
OFFLINE = $(if $(SQL),--sql $(if $(OUT),--out '$(OUT)'))

.PHONY: install build migrate rollback status history current stamp revision repair test clean

install: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# tsc checks the types and writes the library (dist/api.js); esbuild writes the command: dist/dbvc.cjs, a small
# CommonJS entry, and dist/cli.cjs, the CLI with its packages in one file (src/bin.ts says why)
ESBUILD = node_modules/.bin/esbuild --bundle --platform=node --format=cjs --target=node20 --log-level=warning
build: dist/dbvc.cjs
dist/dbvc.cjs: node_modules/.installed tsconfig.json $(shell find src -name '*.ts')
	node_modules/.bin/tsc -p tsconfig.json
	$(ESBUILD) src/cli.ts --outfile=dist/cli.cjs
	$(ESBUILD) src/bin.ts --outfile=dist/dbvc.cjs --external:./cli.cjs --banner:js='#!/usr/bin/env node'
	@chmod +x dist/dbvc.cjs

migrate: build
	$(DBVC) upgrade $(REV) $(TARGETS) $(OFFLINE)

rollback: build
	$(DBVC) downgrade '$(if $(REV),$(REV),-1)' $(TARGETS) $(OFFLINE)

status: build
	$(DBVC) status $(TARGETS)

history: build
	$(DBVC) history --db '$(DB)'

current: build
	$(DBVC) current $(TARGETS)

stamp: build
	@test -n '$(REV)' || { echo 'usage: make stamp DB=aiven REV=0003' >&2; exit 2; }
	$(DBVC) stamp '$(REV)' --db '$(DB)'

repair: build
	$(DBVC) repair --db '$(DB)'

revision: build
	@test -n '$(NAME)' || { echo 'usage: make revision DB=aiven NAME="add orders"' >&2; exit 2; }
	$(DBVC) revision '$(NAME)' --db '$(DB)'

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
BENCH_ARGS ?=
.PHONY: bench bench-page bench-fleet
bench: build
	node bench/run.mjs $(BENCH_ARGS)
	node bench/page.mjs
	node bench/fleet.mjs

bench-fleet: build
	node bench/fleet.mjs

bench-page: build
	node bench/page.mjs
