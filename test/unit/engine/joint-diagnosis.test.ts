import { describe, expect, it } from 'vitest';
import { KubeFactsIndex } from '../../../collector/diagnosis/kube-facts-index.ts';
import { nodeFactsFromObject, podFactsFromObject } from '../../../collector/diagnosis/pod-facts.ts';
import { objectKey, type KubeObject, type ObjectEventType } from '../../../collector/engine/kube/object-event.ts';
import { kindInfo } from '../../../collector/engine/rules/kinds.ts';
import { buildProjection } from '../../../collector/engine/rules/projection.ts';
import { checkResult } from '../../helpers/heartbeat-factory.ts';
import { Driver, uid } from '../diagnosis/driver.ts';

type Status = Record<string, unknown>;

/** A full Pod as the apiserver sends it (the index sees it through its projection, as behind a reflector). */
function podObject(i: number, o: { node?: string; phase?: string; ready?: boolean; sidecar?: Status; app?: Status; reason?: string; disruption?: string; rs?: string; deleting?: boolean } = {}): KubeObject {
  return {
    kind: 'Pod',
    metadata: {
      name: `app-${i}`, namespace: 'default', uid: uid(i), annotations: { note: 'x'.repeat(500) },
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.rs ?? 'app-7d9', uid: 'rs-uid', controller: true }],
    },
    spec: { nodeName: o.node ?? `n-${i % 4}`, containers: [{ name: 'app', image: 'app:1' }] },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.reason ? { reason: o.reason } : {}),
      conditions: [
        { type: 'Ready', status: o.ready === false ? 'False' : 'True' },
        ...(o.disruption ? [{ type: 'DisruptionTarget', status: 'True', reason: o.disruption }] : []),
      ],
      containerStatuses: [
        { name: 'app', ready: o.ready !== false, restartCount: 0, image: 'app:1', ...o.app },
        { name: 'podpulse-probe', ready: true, restartCount: 0, image: 'podpulse:1', ...o.sidecar },
      ],
    },
  };
}
const nodeObject = (name: string, ready: string): KubeObject => ({ kind: 'Node', metadata: { name, uid: `n-${name}`, labels: { 'topology.kubernetes.io/zone': 'z-a' } }, status: { conditions: [{ type: 'Ready', status: ready }] } });
const rsObject = (name: string, replicas: number): KubeObject => ({ kind: 'ReplicaSet', metadata: { name, namespace: 'default', uid: `rs-${name}` }, spec: { replicas } });

class Cluster {
  readonly facts = new KubeFactsIndex();
  #rv = 1;
  send(type: ObjectEventType, obj: KubeObject): void {
    const kind = String(obj.kind);
    const r = kindInfo(kind)!.resource;
    const md = obj.metadata as { name: string; namespace?: string; uid: string };
    const project = buildProjection(KubeFactsIndex.fields[kind] ?? []);
    this.facts.apply({ type, resource: r, key: objectKey(r.namespaced ? md.namespace : undefined, md.name), uid: md.uid, resourceVersion: String(this.#rv++), object: project(obj) });
  }
}

const ok = [checkResult({ id: 'dns-db' })];
function fleet(cluster: Cluster): Driver {
  const t = new Driver({ kube: cluster.facts });
  for (let i = 0; i < 12; i++) {
    t.pod(i, { instance: { node: `n-${i % 4}` } });
    cluster.send('ADDED', podObject(i));
  }
  for (let n = 0; n < 4; n++) cluster.send('ADDED', nodeObject(`n-${n}`, 'True'));
  cluster.send('ADDED', rsObject('app-7d9', 12));
  t.run(30_000, () => ok);
  return t;
}
const quiet = (...silent: number[]) => (podUid: string) => (silent.map(uid).includes(podUid) ? null : ok);
const nonOk = (t: Driver) => t.events.filter((e) => e.type !== 'io.podpulse.instance-silent' || e.status !== 'resolved');

describe('facts from projected objects', () => {
  it('reads readiness, the sidecar, termination causes and the node', () => {
    const project = buildProjection(KubeFactsIndex.fields.Pod!);
    expect(podFactsFromObject(project(podObject(1)))).toEqual({ phase: 'Running', node: 'n-1', ready: true, sidecarReady: true, sidecarRestarting: false });
    expect(podFactsFromObject(project(podObject(1, { sidecar: { ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } } })))).toMatchObject({ sidecarReady: false, sidecarRestarting: true });
    expect(podFactsFromObject(project(podObject(1, { app: { lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } } }))).terminationReason).toBe('OOMKilled');
    expect(podFactsFromObject(project(podObject(1, { phase: 'Failed', reason: 'Evicted' }))).terminationReason).toBe('Evicted');
    expect(podFactsFromObject(project(podObject(1, { disruption: 'PreemptionByScheduler' }))).terminationReason).toBe('Preempted');
    expect(podFactsFromObject(project(podObject(1, { phase: 'Failed', reason: 'Evicted' })), { ownerReplicas: 0 }).retiredBy).toBe('scaled down');
    expect(podFactsFromObject({ metadata: { name: 'bare' } })).toEqual({});
    expect(nodeFactsFromObject(nodeObject('n', 'Unknown'))).toEqual({ ready: false, readyStatus: 'Unknown', zone: 'z-a' });
  });
});

describe('joint diagnosis: heartbeats with Kubernetes facts from the watch', () => {
  it('silent + pod deleted → retired quietly, no event', () => {
    const c = new Cluster();
    const t = fleet(c);
    c.send('DELETED', podObject(3));
    t.run(120_000, quiet(3));
    expect(t.transitions.filter((x) => x.podUid === uid(3)).map((x) => x.to)).toEqual(['healthy', 'silent', 'retired']);
    expect(t.events).toEqual([]);
  });

  it('silent + evicted by a completed rollout (its ReplicaSet scaled to zero) → retired quietly', () => {
    const c = new Cluster();
    const t = fleet(c);
    c.send('MODIFIED', podObject(4, { phase: 'Failed', reason: 'Evicted', ready: false }));
    c.send('MODIFIED', rsObject('app-7d9', 0));
    t.run(120_000, quiet(4));
    expect(t.transitions.filter((x) => x.podUid === uid(4)).map((x) => x.to).at(-1)).toBe('retired');
    expect(t.events).toEqual([]);
  });

  it('silent + pod Running with the sidecar not ready → probe-down, with the evidence', () => {
    const c = new Cluster();
    const t = fleet(c);
    c.send('MODIFIED', podObject(5, { sidecar: { ready: false } }));
    t.run(120_000, quiet(5));
    expect(t.of('instance-silent')).toEqual([]);
    const [ev] = t.of('probe-down', 'firing');
    expect(ev!.data.summary).toBe('probe sidecar on default/app-00000000 is not ready');
    expect(ev!.data.evidence).toContainEqual({ kind: 'kubernetes', subject: 'default/app-00000000', field: 'containerStatuses[podpulse].ready', value: false });
    expect(nonOk(t).map((e) => e.type)).toEqual(['io.podpulse.probe-down']);
  });

  it('silent + the sidecar restarting → probe-down naming the restarts', () => {
    const c = new Cluster();
    const t = fleet(c);
    c.send('MODIFIED', podObject(6, { sidecar: { ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } } }));
    t.run(120_000, quiet(6));
    expect(t.of('probe-down', 'firing')[0]!.data.summary).toMatch(/is restarting$/);
  });

  it('silent + node NotReady/Unknown → one node-lost event per node listing its instances', () => {
    const c = new Cluster();
    const t = fleet(c);
    c.send('MODIFIED', nodeObject('n-1', 'Unknown'));
    c.send('MODIFIED', nodeObject('n-2', 'False'));
    t.run(120_000, quiet(1, 5, 9, 2, 6, 10));
    expect(t.of('instance-silent')).toEqual([]);
    const lost = t.of('node-lost', 'firing');
    const last = new Map(lost.map((e) => [e.subject, e]));
    expect([...last.keys()].sort()).toEqual(['node/n-1', 'node/n-2']);
    expect(new Set(last.get('node/n-1')!.data.instances)).toEqual(new Set([uid(1), uid(5), uid(9)]));
    expect(last.get('node/n-1')!.data.evidence).toContainEqual({ kind: 'kubernetes', subject: 'node/n-1', field: 'status.conditions[type=Ready].status', value: 'Unknown' });
    expect(new Set(lost.map((e) => e.fingerprint)).size).toBe(2);
  });

  it.each([
    ['OOMKilled', { app: { lastState: { terminated: { reason: 'OOMKilled' } } } }],
    ['Evicted', { phase: 'Failed', reason: 'Evicted', ready: false }],
    ['Preempted', { disruption: 'PreemptionByScheduler' }],
  ] as const)('a silent instance whose container was %s has that cause named', (cause, o) => {
    const c = new Cluster();
    const t = fleet(c);
    c.send('MODIFIED', podObject(7, o));
    t.run(120_000, quiet(7));
    const ev = t.of('instance-silent', 'firing')[0]!;
    expect(ev.data.summary).toContain(`(last termination: ${cause})`);
    expect(ev.data.evidence).toContainEqual({ kind: 'kubernetes', subject: 'default/app-00000000', field: 'lastState.terminated.reason', value: cause });
  });

  it('failing dependency checks + pod not Ready → app-unavailable naming the dependency; Ready again → resolved', () => {
    const c = new Cluster();
    const t = fleet(c);
    const dbDown = [checkResult({ id: 'tcp-db', kind: 'tcp', status: 'fail', code: 'TCP_REFUSED', details: { target: 'db:5432' } })];
    c.send('MODIFIED', podObject(8, { ready: false }));
    t.run(60_000, (podUid) => (podUid === uid(8) ? dbDown : ok));
    const [ev] = t.of('app-unavailable', 'firing');
    expect(ev!.data.summary).toBe('app app is unavailable on default/app-00000000: the pod is not Ready; probable cause: tcp db:5432 TCP_REFUSED');
    expect(ev!.data.evidence).toEqual([
      { kind: 'kubernetes', subject: 'default/app-00000000', field: 'status.conditions[type=Ready].status', value: 'False' },
      expect.objectContaining({ kind: 'check', code: 'TCP_REFUSED' }),
    ]);
    expect(t.of('app-unavailable')).toHaveLength(1);
    c.send('MODIFIED', podObject(8, { ready: true }));
    t.run(5_000, (podUid) => (podUid === uid(8) ? dbDown : ok));
    expect(t.of('app-unavailable').at(-1)!.status).toBe('resolved');
  });

  it('failing checks in a Ready pod are a dependency problem, not app-unavailable', () => {
    const c = new Cluster();
    const t = fleet(c);
    t.run(60_000, (podUid) => (podUid === uid(8) ? [checkResult({ id: 'tcp-db', kind: 'tcp', status: 'fail', code: 'TCP_REFUSED', details: { target: 'db:5432' } })] : ok));
    expect(t.of('app-unavailable')).toEqual([]);
  });
});
