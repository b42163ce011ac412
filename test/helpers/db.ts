// Throwaway databases on the one test server (TEST_DATABASE_URL, set by test/run.mjs), and api plumbing for tests.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import type { Reporter } from '../../src/api.js';
import { parseDatabaseUrl, resolveConfig, type Config, type Flags } from '../../src/config.js';
import type { Db } from '../../src/store.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the suite with make test (test/run.mjs)');
  return url;
}

export function urlFor(database: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  return url.href;
}

/** A postgres.js client for a URL, built the way dbvc builds its own (no raw URL handed to the driver). */
export function connect(url: string): Db {
  const server = parseDatabaseUrl(url, 'test', {}, ROOT);
  if (server.kind !== 'url') throw new Error('not a url');
  return postgres({
    host: server.host, port: server.port, database: server.database, username: server.username,
    password: server.password, ssl: server.ssl, max: 1, onnotice: () => {},
  }) as unknown as Db;
}

export interface TestDatabase {
  name: string;
  url: string;
  db: Db;
  drop(): Promise<void>;
}

export async function createDatabase(): Promise<TestDatabase> {
  const name = `dbvc_test_${randomBytes(5).toString('hex')}`;
  const admin = connect(serverUrl());
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  const db = connect(url);
  return {
    name, url, db,
    async drop() {
      await db.end({ timeout: 1 });
      const again = connect(serverUrl());
      try {
        await again.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await again.end();
      }
    },
  };
}

/** Copies a fixture folder to a temp dir so a test may edit it. */
export async function copyFixture(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `dbvc-${name}-`));
  await cp(join(ROOT, 'test/fixtures', name), dir, { recursive: true });
  return dir;
}

export function fixture(name: string): string {
  return join(ROOT, 'test/fixtures', name);
}

export function configFor(url: string, dir: string, flags: Flags = {}): Config {
  return resolveConfig({ url, dir, lockTimeout: '2s', ...flags }, {}, ROOT);
}

export interface Captured extends Reporter {
  lines: string[];
  notices: string[];
}

export function capture(): Captured {
  const lines: string[] = [];
  const notices: string[] = [];
  return { lines, notices, info: (line) => lines.push(line), notice: (m) => notices.push(m) };
}

/** Runs an async function that should reject; returns the error (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
