import { describe, expect, it } from 'vitest';
import type { KubeFacts, NodeFacts, PodFacts } from '../../../collector/diagnosis/kube-facts.ts';
import { checkResult } from '../../helpers/heartbeat-factory.ts';
import { Driver, uid } from './driver.ts';

const ok = [checkResult({ id: 'dns-db' })];

/** What a watch engine would know, set by the test. */
class FakeKube implements KubeFacts {
  pods = new Map<string, PodFacts>();
  nodes = new Map<string, NodeFacts>();
  podFacts(podUid: string): PodFacts {
    return this.pods.get(podUid) ?? {};
  }
  nodeFacts(name: string): NodeFacts {
    return this.nodes.get(name) ?? {};
  }
}

function fleet(kube?: KubeFacts): Driver {
  const t = new Driver(kube ? { kube } : {});
  for (let i = 0; i < 40; i++) t.pod(i, { instance: { node: `n-${i % 4}` } });
  t.run(30_000, () => ok);
  return t;
}
const quietOn = (node: number) => (podUid: string) => (Number.parseInt(podUid.slice(-4), 16) % 4 === node ? null : ok);

describe('Kubernetes facts seam', () => {
  it('without Kubernetes facts, instances of a lost node are announced one by one as silent', () => {
    const t = fleet();
    t.run(120_000, quietOn(3));
    expect(t.of('instance-silent', 'firing')).toHaveLength(10);
    expect(t.of('node-lost')).toEqual([]);
  });

  it('with the node NotReady, the same silence becomes ONE node-lost event naming the node', () => {
    const kube = new FakeKube();
    kube.nodes.set('n-3', { ready: false });
    const t = fleet(kube);
    t.run(120_000, quietOn(3));
    expect(t.of('instance-silent')).toEqual([]);
    const lost = t.of('node-lost');
    expect(lost.at(-1)).toMatchObject({ status: 'firing', subject: 'node/n-3', data: { summary: 'node n-3 is not ready: 10 instances of app app went silent' } });
    expect(new Set(lost.map((e) => e.fingerprint)).size).toBe(1);
    t.run(30_000, () => ok);
    expect(t.of('node-lost').at(-1)!.status).toBe('resolved');
  });

  it('retires a silent instance quietly when its pod was deleted', () => {
    const kube = new FakeKube();
    const t = fleet(kube);
    kube.pods.set(uid(3), { deleted: true });
    t.run(120_000, (podUid) => (podUid === uid(3) ? null : ok));
    expect(t.transitions.filter((x) => x.podUid === uid(3)).map((x) => x.to)).toEqual(['healthy', 'silent', 'retired']);
    expect(t.events).toEqual([]);
  });

  it('says probe-down when the sidecar is not ready, naming an OOMKilled termination', () => {
    const kube = new FakeKube();
    const t = fleet(kube);
    kube.pods.set(uid(5), { sidecarReady: false, terminationReason: 'OOMKilled' });
    t.run(120_000, (podUid) => (podUid === uid(5) ? null : ok));
    expect(t.of('instance-silent')).toEqual([]);
    expect(t.of('probe-down', 'firing')[0]!.data.summary).toBe('probe sidecar on default/app-00000000 is not ready (last termination: OOMKilled)');
  });

  it('takes a group\'s zone from the node facts when no zone map is given', () => {
    const kube = new FakeKube();
    kube.nodes.set('n-0', { zone: 'z-a' });
    kube.nodes.set('n-1', { zone: 'z-a' });
    const t = new Driver({ kube });
    for (let i = 0; i < 4; i++) t.pod(i, { instance: { node: `n-${i % 2}` } });
    t.run(60_000, () => [checkResult({ id: 'tcp-db', kind: 'tcp', status: 'fail', code: 'TCP_REFUSED', details: { target: 'db:5432' } })]);
    expect(t.of('dependency-failing')[0]!.data.summary).toBe('tcp db:5432 TCP_REFUSED on 4 instances of app app, all in zone z-a (2 nodes)');
  });
});
