#!/usr/bin/env node
// Summarises a `node --cpu-prof` profile: self time by function and by file, so "profile before optimising" is quick.
// Usage: node --cpu-prof --cpu-prof-dir /tmp/p dist/dbvc.cjs status ... ; node bench/profile.mjs /tmp/p/*.cpuprofile [top]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile.mjs PROFILE.cpuprofile [top=25]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

// samples[i] was taken timeDeltas[i] after the previous one: charge that interval to the sampled node.
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const totalUs = profile.endTime - profile.startTime;

// Total (inclusive) time: each sample also counts for every caller above it, once per function.
const parents = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
const label = (id) => {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  return `${functionName || '(anonymous)'}  ${shorten(url)}${url ? `:${lineNumber + 1}` : ''}`;
};
const totalByFunction = new Map();
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parents.get(at)) {
    const key = label(at);
    if (seen.has(key)) continue;
    seen.add(key);
    totalByFunction.set(key, (totalByFunction.get(key) ?? 0) + us);
  }
}

const byFunction = new Map();
const byFile = new Map();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const where = shorten(url);
  const key = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  byFile.set(where || functionName, (byFile.get(where || functionName) ?? 0) + us);
}

function shorten(url) {
  return url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/dist\//, 'dist/');
}

function print(title, map) {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${key}`);
  }
}

console.log(`${file}: ${(totalUs / 1000).toFixed(1)} ms profiled, ${profile.samples.length} samples`);
print('self time by function', byFunction);
print('total time by function (itself and what it calls)', totalByFunction);
print('self time by file (node: internals under node:, (program)/(garbage collector) are V8)', byFile);
