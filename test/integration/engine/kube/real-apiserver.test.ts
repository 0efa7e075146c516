// The engine's Kubernetes plumbing against a real kube-apiserver v1.20.2 (PODPULSE_K8S=1). This file restarts the
// apiserver to move its watch cache window (the reliable way to get a 410 there), so it holds every test of the
// tier that makes resourceVersions too old; keep such tests here, not in files that run beside it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeClient } from '../../../../collector/engine/kube/kube-client.ts';
import { LeaderElector } from '../../../../collector/engine/kube/leader-elector.ts';
import type { ResourceType } from '../../../../collector/engine/kube/object-event.ts';
import { pathProjection } from '../../../../collector/engine/kube/projection.ts';
import { Reflector, type ReflectorOptions } from '../../../../collector/engine/kube/reflector.ts';
import { SqliteStore } from '../../../../collector/store/sqlite-store.ts';
import { captureLogs } from '../../../helpers/capture-logs.ts';
import { makePod } from '../../../helpers/fake-kube-apiserver/pods.ts';
import { RecordingSink, waitFor } from '../../../helpers/fake-kube-apiserver/recording-sink.ts';
import { TcpGate } from '../../../helpers/fake-kube-apiserver/tcp-gate.ts';

const stack = inject('realApiserver');
const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
const SCRIPTS = fileURLToPath(new URL('../../../../../shared/k8s-apiserver/', import.meta.url));
const CHILD = fileURLToPath(new URL('./leader-elector-child.ts', import.meta.url));

/** A pod as a client creates it: no status (the apiserver sets Pending), no uid. */
function podSpec(ns: string, name: string): Record<string, unknown> {
  const { metadata, spec } = makePod({ namespace: ns, name });
  delete (spec as Record<string, unknown>).nodeName;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

describe.skipIf(!stack)('engine kube plumbing against a real kube-apiserver v1.20 (PODPULSE_K8S=1)', () => {
  const ns = `test-${randomBytes(4).toString('hex')}`;
  let client: KubeClient;
  const reflectors: Reflector[] = [];

  function reflectorOptions(sink: RecordingSink, c = client): ReflectorOptions {
    return {
      client: c,
      resource: PODS,
      namespace: ns,
      sink,
      log: captureLogs('info').log,
      backoff: { initialMs: 100, maxMs: 1000 },
      projection: pathProjection([['status', 'phase'], ['status', 'containerStatuses']]),
    };
  }

  function reflector(sink: RecordingSink, c = client): Reflector {
    const r = new Reflector(reflectorOptions(sink, c));
    reflectors.push(r);
    return r;
  }

  const create = (name: string) => client.request<{ metadata: { uid: string; resourceVersion: string } }>('POST', `/api/v1/namespaces/${ns}/pods`, { body: podSpec(ns, name) });

  beforeAll(async () => {
    client = KubeClient.fromFile(stack!.kubeconfig);
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
  });
  afterAll(async () => {
    for (const r of reflectors) await r.stop();
  });

  it('lists and watches real pods, falls back from the streaming list (422 on v1.20), and sees status subresource patches', async () => {
    await create('web-1');
    await create('web-2');
    const sink = new RecordingSink();
    const r = reflector(sink);
    await r.start();
    await r.queue.idle();
    expect(r.stats.streamingLists).toBe(0);
    expect(r.stats.lists).toBe(1);
    expect(sink.summary()).toEqual([`ADDED ${ns}/web-1`, `ADDED ${ns}/web-2`]);
    sink.clear();
    const patched = await client.request<{ metadata: { resourceVersion: string } }>('PATCH', `/api/v1/namespaces/${ns}/pods/web-1/status`, {
      contentType: 'application/strategic-merge-patch+json',
      body: { status: { phase: 'Running', containerStatuses: [{ name: 'sidecar', ready: false, restartCount: 0, image: 'x', imageID: '', state: { running: {} } }] } },
    });
    await waitFor(() => sink.events.length === 1);
    const e = sink.events[0]!;
    expect(e).toMatchObject({ type: 'MODIFIED', key: `${ns}/web-1`, resourceVersion: patched.metadata.resourceVersion });
    expect(e.object).toMatchObject({ status: { phase: 'Running', containerStatuses: [{ name: 'sidecar', ready: false }] } });
    expect((e.object as { spec?: unknown }).spec).toBeUndefined();
  });

  it('restarts from the persisted watermark: the index is rebuilt with an exact list, only the missed changes are delivered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'real-resume-'));
    const store = new SqliteStore({ path: join(dir, 'engine.db') });
    await store.migrate();
    try {
      await create('resume-a');
      await create('resume-b');
      const s1 = new RecordingSink();
      const first = new Reflector({ ...reflectorOptions(s1), watermarks: store });
      await first.start();
      await first.queue.idle();
      await first.stop();
      expect(await store.getWatermark(first.watermarkKey)).toBe(first.watermark);
      expect(s1.summary()).toContain(`ADDED ${ns}/resume-b`);

      await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/resume-a`);
      await create('resume-c');
      const s2 = new RecordingSink();
      const second = new Reflector({ ...reflectorOptions(s2), watermarks: store });
      reflectors.push(second);
      await second.start();
      await waitFor(() => s2.events.length >= 2, 20_000, 'missed changes');
      await second.queue.idle();
      // The apiserver deletes a pod in two writes (deletionTimestamp, then removal); the first may arrive on its own.
      expect(s2.summary().filter((l) => !l.startsWith('MODIFIED'))).toEqual([`DELETED ${ns}/resume-a`, `ADDED ${ns}/resume-c`]);
      expect(s2.summary().every((l) => l.endsWith('/resume-a') || l.endsWith('/resume-c'))).toBe(true);
      expect(s2.of(`${ns}/resume-a`).filter((e) => e.type === 'MODIFIED').every((e) => (e.object.metadata as { deletionTimestamp?: string }).deletionTimestamp)).toBe(true);
      expect(second.stats.lists).toBe(0);
      expect(second.stats.relists).toBe(0);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('after a partition and an apiserver restart its watch RV is too old: 410 → relist → the delete it missed is emitted', async () => {
    const keep = await create('keep');
    const doomed = await create('doomed');
    // This reflector reaches the apiserver through a gate the test can close.
    const gate = await TcpGate.start(Number(new URL(stack!.server).port));
    const kc = new KubeConfig();
    kc.loadFromFile(stack!.kubeconfig);
    const proxied = new KubeConfig();
    proxied.loadFromOptions({ clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${gate.port}` })), users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
    const sink = new RecordingSink();
    const r = reflector(sink, new KubeClient(proxied));
    try {
      await r.start();
      await r.queue.idle();
      sink.clear();
      gate.close();
      await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/doomed`);
      await client.request('PATCH', `/api/v1/namespaces/${ns}/pods/keep`, { contentType: 'application/merge-patch+json', body: { metadata: { labels: { changed: 'yes' } } } });
      const env = { ...process.env };
      execFileSync(`${SCRIPTS}stop.sh`, { env, stdio: 'inherit' });
      execFileSync(`${SCRIPTS}start.sh`, { env, stdio: 'inherit', timeout: 120_000 });
      gate.open();
      await waitFor(() => r.stats.relists >= 1 && sink.events.length >= 2, 60_000, 'relist after 410');
      await r.queue.idle();
      expect(r.stats.gone).toBeGreaterThanOrEqual(1);
      const byType = Object.fromEntries(sink.events.map((e) => [e.type, e]));
      expect(byType.DELETED).toMatchObject({ key: `${ns}/doomed`, uid: doomed.metadata.uid });
      expect(byType.MODIFIED).toMatchObject({ key: `${ns}/keep`, uid: keep.metadata.uid });
      expect(sink.events).toHaveLength(2);
    } finally {
      await gate.stop();
    }
  });

  it('two electors share a real Lease: one leads; SIGKILL it and the other takes over after expiry', async () => {
    const spawnReplica = (id: string) => {
      const proc = spawn(process.execPath, [CHILD, stack!.kubeconfig, ns, 'engine', id], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines: string[] = [];
      proc.stdout.setEncoding('utf8').on('data', (c: string) => lines.push(...c.split('\n').filter(Boolean)));
      return { proc, lines, leading: () => lines.at(-1)?.startsWith('leading') ?? false };
    };
    const a = spawnReplica('real-a');
    const b = spawnReplica('real-b');
    const procs: ChildProcess[] = [a.proc, b.proc];
    try {
      await waitFor(() => a.leading() || b.leading(), 20_000, 'a leader');
      for (let i = 0; i < 10; i++) {
        expect(Number(a.leading()) + Number(b.leading())).toBe(1);
        await new Promise((res) => setTimeout(res, 100));
      }
      const [leader, follower] = a.leading() ? [a, b] : [b, a];
      leader.proc.kill('SIGKILL');
      await waitFor(() => follower.leading(), 20_000, 'takeover');
      const lease = await client.request<{ spec: { holderIdentity: string; leaseTransitions: number } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/engine`);
      expect(lease.spec.holderIdentity).toBe(follower === a ? 'real-a' : 'real-b');
      expect(lease.spec.leaseTransitions).toBe(1);
    } finally {
      for (const p of procs) p.kill('SIGKILL');
    }
  });

  it('in-process electors on the real Lease: a stopped leader releases it and the other leads at once', async () => {
    const events: string[] = [];
    const mk = (id: string) =>
      new LeaderElector({
        client, log: captureLogs('info').log, namespace: ns, name: 'engine-release', identity: id,
        leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 300,
        onStartedLeading: () => void events.push(`${id} leading`),
        onStoppedLeading: () => void events.push(`${id} stopped`),
      });
    const one = mk('one');
    one.start();
    await waitFor(() => one.isLeader, 10_000);
    const two = mk('two');
    two.start();
    await new Promise((res) => setTimeout(res, 800));
    expect(two.isLeader).toBe(false);
    const t0 = Date.now();
    await one.stop();
    await waitFor(() => two.isLeader, 5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    await two.stop();
    expect(events).toEqual(['one leading', 'one stopped', 'two leading', 'two stopped']);
  });
});
