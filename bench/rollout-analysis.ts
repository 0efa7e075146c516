// Rollout analysis over a large selection: 10,000 instances in a SQLite store, half of them on the target version
// with some failing, breaker-open and silent ones. Times one step's analysis (assignment hash per instance, counts,
// group rates, verdict) beside the baseline of reading the same instances from the store, which every controller
// tick also does, in the same run. Target: analysis ≤ 1 s.
//
//   node bench/rollout-analysis.ts [--smoke] [--instances 10000]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeStep, judge } from '../collector/control/rollouts/rollout-analysis.ts';
import { selectedInstances } from '../collector/control/rollouts/rollout-controller.ts';
import { AnalysisSpec, type Rollout } from '../collector/control/rollouts/rollout-spec.ts';
import { SqliteStore } from '../collector/store/sqlite-store.ts';
import type { Heartbeat } from '../src/protocol/heartbeat.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, instances: { type: 'string' } } });
const n = Number(values.instances ?? 10_000);
const reps = values.smoke ? 3 : 10;
const dir = mkdtempSync(join(tmpdir(), 'podpulse-rollout-bench-'));
const store = new SqliteStore({ path: join(dir, 'bench.db') });
await store.migrate();
const now = Date.now();
const bootId = randomUUID();
for (let i = 0; i < n; i += 1000) {
  const batch: Heartbeat[] = [];
  for (let j = i; j < Math.min(n, i + 1000); j++) {
    const onNew = j % 2 === 0;
    batch.push({
      apiVersion: 'podpulse.io/v1', source: 'worker',
      instance: { podUid: randomUUID(), namespace: 'bench', pod: `web-${j}`, app: 'web', tenant: 'acme' },
      agent: { daemonVersion: '1.0.0', workerVersion: onNew ? '2.0.0' : '1.0.0', configRevision: 'r', breaker: j % 97 === 0 ? 'open' : 'closed', worker: 'running', ...(onNew ? { update: { desired: '2.0.0', current: '2.0.0', status: 'installed' as const } } : {}) },
      bootId, seq: 0, sentAt: new Date(now - (j % 211 === 0 ? 120_000 : 1000)).toISOString(), intervalMs: 10_000, dropped: 0,
      checks: [{ id: 'dns-db', kind: 'dns', status: j % 13 === 0 ? 'fail' : 'ok', code: j % 13 === 0 ? 'DNS_NXDOMAIN' : 'OK', latencyMs: 1 }],
    });
  }
  await store.ingest(batch, now - 1000);
}
const rollout: Rollout = {
  id: 'ro-bench', target: '2.0.0', selector: { app: 'web' }, steps: [{ percent: 50 }, { percent: 100 }], analysis: AnalysisSpec.parse({}), status: 'running',
  createdBy: 'bench', createdAt: now, updatedAt: now, fromVersions: {}, baseline: { instances: n, breakerOpen: 0, crashloop: 0, silent: 0, failing: 0 },
  currentStep: 0, stepStates: [{ cutoff: 5000, startedAt: now, phase: 'observing', counts: { targeted: 0, updated: 0, failed: 0, rolledBack: 0, silent: 0 } }],
};
const best = async (fn: () => unknown): Promise<number> => {
  let min = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
};
const instances = await selectedInstances(store, rollout.selector);
const readMs = await best(() => selectedInstances(store, rollout.selector));
let verdict = '';
const analysisMs = await best(() => {
  const a = analyzeStep(rollout, 0, instances, now);
  verdict = `${judge(rollout, a, now).result} (targeted ${a.counts.targeted}, new group ${a.newGroup.instances}, old group ${a.oldGroup.instances})`;
});
console.log(`rollout analysis: ${instances.length} instances, best of ${reps}`);
console.log(`  read from the store (baseline)  ${readMs.toFixed(1)} ms`);
console.log(`  one step's analysis + verdict   ${analysisMs.toFixed(1)} ms  → ${verdict}; target ≤ 1000 ms: ${analysisMs <= 1000 ? 'met' : 'NOT met'}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
