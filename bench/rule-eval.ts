/**
 * Rule evaluation: Pod update events (projected, as a reflector delivers them) through the rule engine with 20
 * rules loaded — the two seed rules, DSL and CEL rules, rules with references and durations — beside a baseline
 * measured in the same run: the same events through a no-op sink. Then the latency from a matching event of a
 * duration-0 rule to its event stored (SQLite), p50/p99, with other events queued around it.
 *
 *   node bench/rule-eval.ts [--smoke]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../collector/engine/clock.ts';
import { objectKey, type KubeObject, type ObjectEvent, type ObjectEventSink } from '../collector/engine/kube/object-event.ts';
import { RuleEngine } from '../collector/engine/rule-engine.ts';
import { kindInfo } from '../collector/engine/rules/kinds.ts';
import { parseRuleDocument } from '../collector/engine/rules/rule-document.ts';
import { RuleSet } from '../collector/engine/rules/rule-set.ts';
import { SqliteStore } from '../collector/store/sqlite-store.ts';

const smoke = process.argv.includes('--smoke');
const PODS = smoke ? 2_000 : 20_000;
const EVENTS = smoke ? 20_000 : 200_000;
const ROUNDS = smoke ? 2 : 5;
const LATENCY_SAMPLES = smoke ? 200 : 1_000;

const seed = (name: string): unknown => JSON.parse(readFileSync(join(import.meta.dirname, '../test/unit/engine/seed-rules', `${name}.json`), 'utf8'));

/** Twenty rules: most watch Pods (every event is evaluated by them), a few other kinds. */
function twentyRules(): RuleSet {
  const docs: unknown[] = [seed('PodSidecarNotReady'), seed('ServiceDeleting')];
  const phases = ['Failed', 'Unknown', 'Succeeded'];
  phases.forEach((p, i) => docs.push({ [`PodPhase${i}`]: { resource: 'Pod', duration: 60, filterField: [{ field: ['metadata', 'labels', 'sae.component'], equalValue: ['app'] }], checkField: [{ field: ['status', 'phase'], equalValue: [p] }] } }));
  ['app', 'istio-proxy', 'log-agent'].forEach((c, i) =>
    docs.push({ [`ContainerNotReady${i}`]: { resource: 'Pod', duration: 120, filterField: [{ field: ['status', 'phase'], equalValue: ['Running'] }], checkField: [{ field: ['status', 'containerStatuses'], equalValue: ['false'], subIdentifierName: 'name', subIdentifierValue: [c], subField: ['ready'] }] } }),
  );
  docs.push({ CrashLooping: { resource: 'Pod', condition: "object.status.containerStatuses.exists(c, has(c.state.waiting) && c.state.waiting.reason == 'CrashLoopBackOff')" } });
  docs.push({ ImagePullFailing: { resource: 'Pod', duration: 120, condition: "object.status.containerStatuses.exists(c, has(c.state.waiting) && c.state.waiting.reason in ['ImagePullBackOff', 'ErrImagePull'])" } });
  docs.push({ Restarting: { resource: 'Pod', duration: 300, condition: 'object.status.containerStatuses.exists(c, c.restartCount > 20)' } });
  docs.push({ OOMKilled: { resource: 'Pod', condition: "object.status.containerStatuses.exists(c, has(c.lastState) && has(c.lastState.terminated) && c.lastState.terminated.reason == 'OOMKilled')" } });
  docs.push({ StuckTerminating: { resource: 'Pod', duration: 600, checkField: [{ field: ['metadata', 'deletionTimestamp'], nilValue: false }] } });
  docs.push({ NoNode: { resource: 'Pod', filter: "object.status.phase == 'Running'", condition: "!has(object.spec.nodeName) || object.spec.nodeName == ''" } });
  docs.push({ PodOnLostNode: { resource: 'Pod', duration: 60, references: { node: { resource: 'Node', key: 'object.spec.nodeName' } }, filter: "object.status.phase == 'Running'", condition: "node != null && node.status.conditions.exists(c, c.type == 'Ready' && c.status != 'True')" } });
  docs.push({ LatencyProbe: { resource: 'Pod', filterField: [{ field: ['metadata', 'labels', 'bench'], equalValue: ['probe'] }], condition: "object.status.phase == 'Running'" } });
  docs.push({ NodeNotReady: { resource: 'Node', duration: 60, condition: "object.status.conditions.exists(c, c.type == 'Ready' && c.status != 'True')" } });
  docs.push({ NodeUnschedulable: { resource: 'Node', checkField: [{ field: ['spec', 'unschedulable'], equalValue: ['true'] }] } });
  docs.push({ DeploymentUnavailable: { resource: 'Deployment', duration: 300, condition: 'object.status.availableReplicas < object.spec.replicas' } });
  docs.push({ PvcPending: { resource: 'PersistentVolumeClaim', duration: 300, checkField: [{ field: ['status', 'phase'], equalValue: ['Pending'] }] } });
  const set = RuleSet.compile(docs.flatMap((d) => parseRuleDocument(d)));
  if (set.rules.size !== 20) throw new Error(`expected 20 rules, got ${set.rules.size}`);
  return set;
}

function podObject(i: number, gen: number, extraLabels: Record<string, string> = {}): KubeObject {
  const flaky = i % 100 === 0 && gen % 2 === 1;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `app-${i}`, namespace: `ns-${i % 50}`, uid: `uid-${i}`, resourceVersion: String(gen * PODS + i),
      labels: { 'sae.component': 'app', app: `app-${i % 50}`, 'pod-template-hash': '7d9f8c', ...extraLabels },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z', 'podpulse.io/status': 'injected' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${i % 50}-7d9f8c`, uid: 'rs', controller: true }],
    },
    spec: { nodeName: `node-${i % 100}`, containers: [{ name: 'app', image: 'registry/app:1', env: [{ name: 'A', value: 'x' }] }, { name: 'sidecar', image: 'podpulse:1' }] },
    status: {
      phase: 'Running',
      podIP: '10.0.0.1',
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }],
      containerStatuses: [
        { name: 'app', ready: true, restartCount: gen % 5, image: 'registry/app:1', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
        { name: 'sidecar', ready: !flaky, restartCount: 0, image: 'podpulse:1', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
      ],
    },
  };
}

const podRes = kindInfo('Pod')!.resource;
const toEvent = (engineProjection: (o: KubeObject) => KubeObject, obj: KubeObject): ObjectEvent => {
  const md = obj.metadata as { name: string; namespace: string; uid: string; resourceVersion: string };
  return { type: 'MODIFIED', resource: podRes, key: objectKey(md.namespace, md.name), uid: md.uid, resourceVersion: md.resourceVersion, object: engineProjection(obj) };
};

/** Raw objects for one run: EVENTS updates cycling through PODS pods (1% toggle their sidecar readiness). */
const raw: KubeObject[] = Array.from({ length: EVENTS }, (_, n) => podObject(n % PODS, Math.floor(n / PODS)));

/** Wall and CPU milliseconds for all events (CPU time tells the cost apart from other processes on the machine). */
async function drive(sink: ObjectEventSink, project: (o: KubeObject) => KubeObject): Promise<{ wall: number; cpu: number }> {
  const t = performance.now();
  const c = process.cpuUsage();
  for (const obj of raw) await sink.handle(toEvent(project, obj));
  const used = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (used.user + used.system) / 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'podpulse-bench-rules-'));
const store = new SqliteStore({ path: join(dir, 'bench.db') });
await store.migrate();
const set = twentyRules();
const noop: ObjectEventSink = { handle: () => Promise.resolve() };
const identity = (o: KubeObject): KubeObject => o;
const project = set.projection('Pod');

const baseline: number[] = [];
const engineRates: number[] = [];
const engineCpuRates: number[] = [];
let engine: RuleEngine | undefined;
for (let r = 0; r < ROUNDS; r++) {
  baseline.push(EVENTS / ((await drive(noop, identity)).wall / 1000));
  await engine?.close();
  engine = await RuleEngine.open({ store, clock: systemClock, rules: set });
  const d = await drive(engine, project);
  engineRates.push(EVENTS / (d.wall / 1000));
  engineCpuRates.push(EVENTS / (d.cpu / 1000));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stats = engine!.stats;

// Latency: a matching event of a duration-0 rule, with 50 other events queued right behind and before it.
const latencies: number[] = [];
const storedAt = new Map<string, number>();
await engine!.close();
engine = await RuleEngine.open({ store, clock: systemClock, rules: set, onEvent: (e) => storedAt.set(e.subject ?? '', performance.now()) });
for (let s = 0; s < LATENCY_SAMPLES; s++) {
  const pending: Promise<void>[] = [];
  for (let k = 0; k < 25; k++) pending.push(engine.handle(toEvent(project, raw[(s * 50 + k) % raw.length]!)));
  const probe = podObject(1_000_000 + s, 0, { bench: 'probe' });
  const t = performance.now();
  pending.push(engine.handle(toEvent(project, probe)));
  for (let k = 25; k < 50; k++) pending.push(engine.handle(toEvent(project, raw[(s * 50 + k) % raw.length]!)));
  await Promise.all(pending);
  const at = storedAt.get(`Pod/ns-${(1_000_000 + s) % 50}/app-${1_000_000 + s}`);
  if (at === undefined) throw new Error(`probe ${s} did not fire`);
  latencies.push(at - t);
}
await engine.close();
// SqliteStore.close waits for its unref'd checkpointer worker to exit; keep the loop alive meanwhile.
const keepAlive = setInterval(() => undefined, 1_000);
await store.close();
clearInterval(keepAlive);
rmSync(dir, { recursive: true, force: true });
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`rule evaluation, ${set.rules.size} rules loaded (${set.forKind('Pod').length} on Pod), ${fmt(EVENTS)} Pod update events over ${fmt(PODS)} pods, median of ${ROUNDS} rounds${smoke ? ' (smoke)' : ''}`);
const programs = [...set.rules.values()].flatMap((r) => [...r.filter, ...r.condition, ...r.references.map((x) => x.key)]);
console.log(`  expressions: ${programs.filter((p) => p.path === 'compiled').length} compiled to JS, ${programs.filter((p) => p.path === 'interpreted').length} interpreted`);
console.log(`  baseline (no-op sink, no projection): ${fmt(median(baseline))} events/s`);
console.log(`  rule engine (projection + evaluation): ${fmt(median(engineRates))} events/s   target >= 20,000   ${median(engineRates) >= 20_000 ? 'OK' : 'BELOW TARGET'}`);
console.log(`  rule engine per CPU-second (wall rate without other processes' share): ${fmt(median(engineCpuRates))} events/s`);
console.log(`  last round: ${fmt(stats.evaluations)} CEL evaluations, ${stats.evalErrors} errors, ${stats.fired} fired`);
console.log(`matching event (duration 0) -> stored event, ${LATENCY_SAMPLES} samples with 50 events queued around each:`);
console.log(`  p50 ${pct(50).toFixed(2)} ms   p99 ${pct(99).toFixed(2)} ms   max ${sorted.at(-1)!.toFixed(2)} ms   target p99 <= 50 ms   ${pct(99) <= 50 ? 'OK' : 'ABOVE TARGET'}`);
