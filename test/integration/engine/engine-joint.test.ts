// Joint diagnosis end to end: heartbeats posted to a real collector over HTTP, pods and nodes in the fake
// kube-apiserver, the engine's reflectors feeding the Kubernetes facts → exactly the expected event.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DiagnosisEvent } from '../../../src/protocol/index.ts';
import type { CheckResult, Heartbeat } from '../../../src/protocol/index.ts';
import { FakeKubeApiserver } from '../../helpers/fake-kube-apiserver/fake-kube-apiserver.ts';
import { makePod } from '../../helpers/fake-kube-apiserver/pods.ts';
import { waitFor } from '../../helpers/fake-kube-apiserver/recording-sink.ts';
import { checkResult, heartbeat } from '../../helpers/heartbeat-factory.ts';
import { engineCollector, engineReady, events, postHeartbeats, sleep, type Collector } from './engine-harness.ts';

type Obj = Record<string, unknown>;
const NS = 'shop';

interface PodState {
  node?: string;
  ready?: boolean;
  sidecarReady?: boolean;
  sidecarRestarts?: number;
  appLastTerminated?: string;
}

/** A pod as the injector leaves it: the sidecar container is `podpulse-probe`. */
function pod(name: string, s: PodState = {}): Obj {
  const p = makePod({ namespace: NS, name, nodeName: s.node ?? 'node-1', sidecarReady: s.sidecarReady ?? true });
  const spec = p.spec as { containers: Obj[] };
  spec.containers[1]!.name = 'podpulse-probe';
  const status = p.status as { conditions: Obj[]; containerStatuses: Obj[] };
  const [app, sidecar] = status.containerStatuses as [Obj, Obj];
  sidecar.name = 'podpulse-probe';
  if (s.sidecarRestarts) sidecar.restartCount = s.sidecarRestarts;
  if (s.appLastTerminated) app.lastState = { terminated: { reason: s.appLastTerminated, exitCode: 137 } };
  if (s.ready === false) for (const c of status.conditions) if (c.type === 'Ready' || c.type === 'ContainersReady') c.status = 'False';
  return p;
}

const node = (name: string, ready: 'True' | 'False' | 'Unknown'): Obj => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: ready }] } });

/** Sidecars posting a heartbeat per pod every 250 ms, each with its own boot and sequence. */
class Fleet {
  readonly #pods = new Map<string, { name: string; node: string; bootId: string; seq: number; checks: CheckResult[]; silent: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #url: string;
  failures = 0;

  constructor(url: string) {
    this.#url = url;
  }

  add(uid: string, name: string, nodeName: string): void {
    this.#pods.set(uid, { name, node: nodeName, bootId: randomUUID(), seq: 0, checks: [checkResult({ id: 'dns-db' })], silent: false });
  }

  silence(uid: string): void {
    this.#pods.get(uid)!.silent = true;
  }

  checks(uid: string, checks: CheckResult[]): void {
    this.#pods.get(uid)!.checks = checks;
  }

  async beat(): Promise<void> {
    const hbs: Heartbeat[] = [];
    for (const [uid, p] of this.#pods) {
      if (p.silent) continue;
      hbs.push(heartbeat({ bootId: p.bootId, seq: p.seq++, intervalMs: 1000, checks: p.checks, instance: { podUid: uid, pod: p.name, namespace: NS, app: 'web', node: p.node } }));
    }
    if (hbs.length > 0) await postHeartbeats(this.#url, hbs);
  }

  start(): void {
    this.#timer = setInterval(() => void this.beat().catch(() => this.failures++), 250);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

let fake: FakeKubeApiserver | undefined;
let c: Collector | undefined;
let fleet: Fleet | undefined;
afterEach(async () => {
  fleet?.stop();
  await c?.close();
  await fake?.close();
  fleet = undefined;
  c = undefined;
  fake = undefined;
});

/** A fake cluster with `pods` (name → state), a collector following it, and sidecars beating for every pod. */
async function cluster(pods: Record<string, PodState>, nodes: Record<string, 'True' | 'False' | 'Unknown'> = { 'node-1': 'True', 'node-2': 'True' }): Promise<Map<string, string>> {
  fake = await FakeKubeApiserver.start({ bookmarkIntervalMs: 200 });
  for (const [n, r] of Object.entries(nodes)) fake.create('nodes', node(n, r));
  const uids = new Map<string, string>();
  for (const [name, s] of Object.entries(pods)) uids.set(name, (fake.create('pods', pod(name, s)).metadata as { uid: string }).uid);
  c = await engineCollector({
    kubeconfig: fake.kubeconfigPath,
    diagnosis: {
      tickInterval: '100ms',
      checks: { for: '1s', resolveFor: '1s' },
      silent: { intervalMultiplier: 1, minThreshold: '1s', for: '1s' },
      massSilence: { share: 1, minCount: 1000, window: '60s' },
    },
    // A node-lost event lists instances as they go silent: let its updates through at once.
    events: { updateMinInterval: '100ms' },
  });
  await engineReady(c);
  fleet = new Fleet(c.url);
  for (const [name, uid] of uids) fleet.add(uid, name, pods[name]!.node ?? 'node-1');
  await fleet.beat();
  fleet.start();
  await sleep(600);
  return uids;
}

async function bodies(): Promise<DiagnosisEvent[]> {
  return (await events(c!)).map((e) => e.body as DiagnosisEvent);
}

async function waitForEvent(type: string, ms = 15_000): Promise<DiagnosisEvent> {
  let found: DiagnosisEvent | undefined;
  const end = Date.now() + ms;
  while (!(found = (await bodies()).find((e) => e.type === `io.podpulse.${type}` && e.status === 'firing'))) {
    if (Date.now() > end) throw new Error(`no ${type} event; events: ${JSON.stringify((await bodies()).map((e) => [e.type, e.subject, e.status]))}`);
    await sleep(50);
  }
  return found;
}

const types = async (): Promise<string[]> => [...new Set((await bodies()).map((e) => e.type.replace('io.podpulse.', '')))].sort();

describe('joint diagnosis end to end (heartbeats + fake kube-apiserver)', () => {
  it('silent + pod deleted → retired quietly, no event', async () => {
    const uids = await cluster({ 'web-a': {}, 'web-b': {} });
    const a = uids.get('web-a')!;
    fake!.delete('pods', NS, 'web-a');
    await waitFor(() => c!.engine!.facts.podFacts(a).deleted === true, 10_000, 'the deletion seen');
    fleet!.silence(a);
    const end = Date.now() + 15_000;
    while ((await c!.store.getInstance(a))?.status !== 'retired') {
      if (Date.now() > end) throw new Error(`not retired: ${JSON.stringify(await c!.store.getInstance(a))}`);
      await sleep(100);
    }
    await sleep(1500);
    expect(await bodies()).toEqual([]);
    expect(fleet!.failures).toBe(0);
  });

  it('silent + pod Running with the sidecar not ready → probe-down, and nothing else', async () => {
    const uids = await cluster({ 'web-a': {}, 'web-b': {} });
    const a = uids.get('web-a')!;
    fake!.update('pods', pod('web-a', { sidecarReady: false, sidecarRestarts: 2 }));
    await waitFor(() => c!.engine!.facts.podFacts(a).sidecarReady === false, 10_000, 'the sidecar seen not ready');
    fleet!.silence(a);
    const ev = await waitForEvent('probe-down');
    expect(ev.subject).toContain('web-a');
    expect(ev.data.summary).toMatch(/^probe sidecar on shop\/web-a is (not ready|restarting)/);
    expect(ev.data.evidence).toContainEqual(expect.objectContaining({ kind: 'kubernetes', field: 'containerStatuses[podpulse].ready', value: false }));
    await sleep(1500);
    expect(await types()).toEqual(['probe-down']);
  });

  it('silent + node NotReady → one node-lost event listing its instances, and no per-instance silence', async () => {
    const uids = await cluster({ 'web-a': { node: 'node-1' }, 'web-b': { node: 'node-1' }, 'web-c': { node: 'node-2' } });
    fake!.update('nodes', node('node-1', 'Unknown'));
    await waitFor(() => c!.engine!.facts.nodeFacts('node-1').ready === false, 10_000, 'the node seen lost');
    fleet!.silence(uids.get('web-a')!);
    fleet!.silence(uids.get('web-b')!);
    const ev = await waitForEvent('node-lost');
    expect(ev.subject).toBe('node/node-1');
      const end = Date.now() + 10_000;
    let last = ev;
    while (new Set(last.data.instances).size < 2 && Date.now() < end) {
      await sleep(100);
      last = (await bodies()).filter((e) => e.type === 'io.podpulse.node-lost').at(-1)!;
    }
    expect(new Set(last.data.instances)).toEqual(new Set([uids.get('web-a'), uids.get('web-b')]));
    expect(last.data.evidence).toContainEqual({ kind: 'kubernetes', subject: 'node/node-1', field: 'status.conditions[type=Ready].status', value: 'Unknown' });
    await sleep(1500);
    expect(await types()).toEqual(['node-lost']);
    expect(new Set((await bodies()).map((e) => e.fingerprint)).size).toBe(1);
  });

  it('silent after the app container was OOMKilled → the silence names the cause', async () => {
    const uids = await cluster({ 'web-a': {}, 'web-b': {} });
    const a = uids.get('web-a')!;
    fake!.update('pods', pod('web-a', { appLastTerminated: 'OOMKilled' }));
    await waitFor(() => c!.engine!.facts.podFacts(a).terminationReason === 'OOMKilled', 10_000, 'the OOM kill seen');
    fleet!.silence(a);
    const ev = await waitForEvent('instance-silent');
    expect(ev.data.summary).toContain('(last termination: OOMKilled)');
    expect(ev.data.evidence).toContainEqual({ kind: 'kubernetes', subject: 'shop/web-a', field: 'lastState.terminated.reason', value: 'OOMKilled' });
    await sleep(1500);
    expect(await types()).toEqual(['instance-silent']);
  });

  it('a failing dependency in a pod that is not Ready → app-unavailable naming the dependency', async () => {
    const uids = await cluster({ 'web-a': {}, 'web-b': {} });
    const a = uids.get('web-a')!;
    fake!.update('pods', pod('web-a', { ready: false }));
    await waitFor(() => c!.engine!.facts.podFacts(a).ready === false, 10_000, 'the pod seen not Ready');
    fleet!.checks(a, [checkResult({ id: 'tcp-db', kind: 'tcp', status: 'fail', code: 'TCP_REFUSED', details: { target: 'db:5432' } })]);
    const ev = await waitForEvent('app-unavailable');
    expect(ev.data.summary).toBe('app web is unavailable on shop/web-a: the pod is not Ready; probable cause: tcp db:5432 TCP_REFUSED');
    expect(ev.data.evidence).toContainEqual({ kind: 'kubernetes', subject: 'shop/web-a', field: 'status.conditions[type=Ready].status', value: 'False' });
    expect(ev.data.evidence).toContainEqual(expect.objectContaining({ kind: 'check', code: 'TCP_REFUSED' }));
    await sleep(1500);
    // The failing check is also its own (dependency) event; nothing is reported as silent, lost or probe-down.
    expect(await types()).toEqual(['app-unavailable', 'check-failing']);
  });
});
