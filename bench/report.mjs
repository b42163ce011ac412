// The benchmark's figures -> the markdown table, the verdict on each target (issue 6) and the JSON record.
import { median, summarize } from './measure.mjs';

export const WORKLOADS = {
  W5: { label: 'W5 `dbvc --version`', floor: 'node', targets: { any: { ratio: 1.3 } } },
  W1: { label: 'W1 `upgrade`, empty database', floor: 'psqlUp', targets: { 1000: { ratio: 1.0 } } },
  W2: { label: 'W2 `status`, all applied', floor: 'node', targets: { 1000: { ratio: 1.5 } } },
  W2b: { label: 'W2b `upgrade` at head', floor: 'node', targets: { 1000: { ratio: 1.5 } } },
  W3: { label: 'W3 `downgrade base`', floor: 'psqlDown', targets: { 1000: { ratio: 1.1 } } },
  W4: { label: 'W4 `upgrade --sql` base:head', floor: 'node', targets: { 1000: { ratio: 1.5 }, 10000: { maxMs: 400, maxMB: 150 } } },
};

export const FLOORS = {
  node: 'floor: `node -e 0`',
  psqlUp: 'floor: psql `BEGIN; \\i up; COMMIT;` per file',
  psqlOneTx: 'floor: `psql -1 -f` all ups',
  psqlDown: 'floor: psql `BEGIN; \\i down; COMMIT;` per file',
  nodeConnect: 'floor: Node.js + postgres.js, connect and `select 1`',
};

// The other floors a workload is shown against, beside its target's: what each comparison means.
const ALSO_VERSUS = { psqlOneTx: 'one transaction', nodeConnect: 'a Node.js connect' };

/** Collects samples per (workload or floor, N), each tool sample with the floor sample taken beside it. */
export function createFigures() {
  const entries = new Map();
  const entry = (id, n) => {
    const key = `${id}@${n}`;
    if (!entries.has(key)) entries.set(key, { id, n, samples: [], pairs: {}, errors: [] });
    return entries.get(key);
  };
  return {
    add(id, n, sample) {
      entry(id, n).samples.push(sample);
    },
    pair(id, n, floorId, toolSample, floorSample) {
      const pairs = (entry(id, n).pairs[floorId] ??= []);
      pairs.push({ floorMs: floorSample.ms, ratio: toolSample.ms / floorSample.ms });
    },
    fail(id, n, message) {
      entry(id, n).errors.push(message);
    },
    samples: (id, n) => entries.get(`${id}@${n}`)?.samples ?? [],
    entries: () => [...entries.values()],
  };
}

/** Rows in reading order, each with its summary, floor, ratio and verdict. */
export function buildRows(figures, sizes) {
  const all = figures.entries();
  const find = (id, n) => all.find((e) => e.id === id && e.n === n);
  const rows = [];
  const addTool = (id, n, floorId, isPrimary) => {
    const e = find(id, n);
    if (!e) return;
    const pairs = e.pairs[floorId] ?? [];
    const summary = summarize(e.samples);
    const ratio = median(pairs.map((p) => p.ratio));
    const target = isPrimary ? WORKLOADS[id].targets[n] ?? WORKLOADS[id].targets.any : undefined;
    const label = isPrimary ? WORKLOADS[id].label : `${WORKLOADS[id].label}: same runs, vs ${ALSO_VERSUS[floorId]}`;
    rows.push({ id, label, n, ...summary, floor: floorId, floorLabel: FLOORS[floorId], floorMedianMs: median(pairs.map((p) => p.floorMs)), ratio, target, met: judge(target, summary, ratio), errors: e.errors });
  };
  addTool('W5', null, 'node', true);
  for (const n of sizes) {
    addTool('W1', n, 'psqlUp', true);
    addTool('W1', n, 'psqlOneTx', false);
    for (const id of ['W2', 'W2b', 'W3', 'W4']) {
      addTool(id, n, WORKLOADS[id].floor, true);
      if (id === 'W2' || id === 'W2b') addTool(id, n, 'nodeConnect', false);
    }
  }
  const floorRows = [];
  for (const n of [null, ...sizes]) {
    for (const [floorId, label] of Object.entries(FLOORS)) {
      const e = find(floorId, n);
      if (e) floorRows.push({ id: floorId, label, n, ...summarize(e.samples), errors: e.errors });
    }
  }
  return { rows, floorRows };
}

function judge(target, summary, ratio) {
  if (!target) return null;
  if (target.ratio !== undefined) return ratio === null ? null : ratio <= target.ratio;
  return summary.medianMs < target.maxMs && summary.peakMB !== null && summary.peakMB < target.maxMB;
}

function describeTarget(target) {
  if (!target) return '-';
  if (target.ratio !== undefined) return `≤ ${target.ratio.toFixed(1)}x`;
  return `< ${target.maxMs / 1000} s, < ${target.maxMB} MB`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'n/a';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Every target of the issue: met, missed, or not measured in this run (its N was not benchmarked). */
export function verdicts(rows, sizes) {
  const lines = [];
  for (const [id, workload] of Object.entries(WORKLOADS)) {
    for (const [key, target] of Object.entries(workload.targets)) {
      const n = key === 'any' ? null : Number(key);
      const row = rows.find((r) => r.id === id && r.n === n && r.target);
      const where = `${workload.label}${n === null ? '' : ` at N=${n}`}`;
      if (!row || row.runs === 0) lines.push({ status: 'not measured', text: `${where}: not measured in this run${n !== null && !sizes.includes(n) ? ` (N=${n} not in --sizes)` : ''}` });
      else if (row.met === null) lines.push({ status: 'unknown', text: `${where}: no verdict (floor missing: ${row.errors.join('; ') || 'no floor samples'})` });
      else {
        const figure = target.ratio !== undefined ? `${row.ratio.toFixed(2)}x ${FLOORS[row.floor].replace('floor: ', '')}` : `${formatMs(row.medianMs)}, ${row.peakMB.toFixed(0)} MB`;
        lines.push({ status: row.met ? 'met' : 'MISSED', text: `${where}: ${figure} (target ${describeTarget(target)})` });
      }
    }
  }
  return lines;
}

export function renderTable(rows, floorRows) {
  const out = ['| workload | N | runs | median | range | peak MB | floor (median) | ratio to floor | target | met? |', '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- |'];
  for (const r of rows) {
    const floor = `${r.floorLabel.replace('floor: ', '')} (${formatMs(r.floorMedianMs)})`;
    const met = r.met === null ? (r.target ? '?' : '-') : r.met ? 'yes' : '**NO**';
    out.push(`| ${r.label} | ${r.n ?? '-'} | ${r.runs} | ${formatMs(r.medianMs)} | ${formatMs(r.minMs)} – ${formatMs(r.maxMs)} | ${mb(r.peakMB)} | ${floor} | ${r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`} | ${describeTarget(r.target)} | ${met} |`);
  }
  for (const r of floorRows) {
    const failed = r.errors.length ? ` (${r.errors.length} failed: ${r.errors[0]})` : '';
    out.push(`| ${r.label}${failed} | ${r.n ?? '-'} | ${r.runs} | ${r.runs ? formatMs(r.medianMs) : 'n/a'} | ${r.runs ? `${formatMs(r.minMs)} – ${formatMs(r.maxMs)}` : 'n/a'} | ${mb(r.peakMB)} | - | - | - | - |`);
  }
  return out.join('\n');
}

function mb(value) {
  return value === null ? 'n/a' : value.toFixed(0);
}
