import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../../collector/engine/kube/kube-client.ts';
import { LeaderElector } from '../../../../collector/engine/kube/leader-elector.ts';
import { captureLogs } from '../../../helpers/capture-logs.ts';
import { FakeKubeApiserver } from '../../../helpers/fake-kube-apiserver/fake-kube-apiserver.ts';
import { waitFor } from '../../../helpers/fake-kube-apiserver/recording-sink.ts';

const CHILD = fileURLToPath(new URL('./leader-elector-child.ts', import.meta.url));

interface Replica {
  proc: ChildProcess;
  lines: string[];
  leading(): boolean;
}

function replica(kubeconfig: string, lease: string, identity: string): Replica {
  const proc = spawn(process.execPath, [CHILD, kubeconfig, 'kube-system', lease, identity], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  return { proc, lines, leading: () => lines.at(-1)?.startsWith('leading') ?? false };
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

describe('leader election on a coordination.k8s.io/v1 Lease', () => {
  let fake: FakeKubeApiserver;
  const procs: ChildProcess[] = [];
  const electors: LeaderElector[] = [];

  beforeAll(async () => {
    fake = await FakeKubeApiserver.start({ bookmarkIntervalMs: 0 });
  });
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop();
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await exited(p);
    }
  });
  afterAll(() => fake.close());

  it('lets exactly one of two processes lead; SIGKILL the leader and the other takes over after the lease expires', async () => {
    const a = replica(fake.kubeconfigPath, 'engine-kill', 'replica-a');
    const b = replica(fake.kubeconfigPath, 'engine-kill', 'replica-b');
    procs.push(a.proc, b.proc);
    await waitFor(() => a.leading() || b.leading(), 15_000, 'a leader');
    // Over several renew periods exactly one leads at every moment.
    for (let i = 0; i < 12; i++) {
      expect([a.leading(), b.leading()].filter(Boolean)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    const [leader, follower] = a.leading() ? [a, b] : [b, a];
    const lease = fake.get('leases.coordination.k8s.io', 'kube-system', 'engine-kill')!;
    expect((lease.spec as { holderIdentity: string }).holderIdentity).toBe(leader === a ? 'replica-a' : 'replica-b');

    const killedAt = Date.now();
    leader.proc.kill('SIGKILL');
    await exited(leader.proc);
    await waitFor(() => follower.leading(), 15_000, 'takeover');
    const tookOverAt = Number(follower.lines.at(-1)!.split(' ')[1]);
    // Not before the 2 s lease could have expired (measured from its last renewal, at most one retry before the kill).
    expect(tookOverAt - killedAt).toBeGreaterThanOrEqual(2000 - 300);
    expect(tookOverAt - killedAt).toBeLessThan(6000);
    const after = fake.get('leases.coordination.k8s.io', 'kube-system', 'engine-kill')!;
    expect(after.spec).toMatchObject({ holderIdentity: follower === a ? 'replica-a' : 'replica-b', leaseTransitions: 1 });
  });

  it('releases the lease on shutdown so a waiting replica takes over at once', async () => {
    const client = KubeClient.fromFile(fake.kubeconfigPath);
    const events: string[] = [];
    const mk = (id: string) => {
      const e = new LeaderElector({
        client, log: captureLogs('info').log, namespace: 'kube-system', name: 'engine-release', identity: id,
        leaseDurationMs: 10_000, renewDeadlineMs: 8_000, retryPeriodMs: 200,
        onStartedLeading: () => void events.push(`${id} leading`),
        onStoppedLeading: () => void events.push(`${id} stopped`),
      });
      electors.push(e);
      return e;
    };
    const first = mk('one');
    first.start();
    await waitFor(() => first.isLeader);
    const second = mk('two');
    second.start();
    await new Promise((r) => setTimeout(r, 600));
    expect(second.isLeader).toBe(false);
    const t0 = Date.now();
    await first.stop();
    await waitFor(() => second.isLeader, 5000);
    // Far sooner than the 10 s lease: the holder released it.
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(events).toEqual(['one leading', 'one stopped', 'two leading']);
  });

  it('two replicas racing for a new Lease: optimistic concurrency lets exactly one win', async () => {
    const client = KubeClient.fromFile(fake.kubeconfigPath);
    const mk = (id: string) => {
      const e = new LeaderElector({ client, log: captureLogs('info').log, namespace: 'kube-system', name: 'engine-race', identity: id, leaseDurationMs: 5000, renewDeadlineMs: 3000, retryPeriodMs: 200 });
      electors.push(e);
      return e;
    };
    const from = fake.requests.length;
    const x = mk('x');
    const y = mk('y');
    x.start();
    y.start();
    await waitFor(() => x.isLeader || y.isLeader);
    for (let i = 0; i < 10; i++) {
      expect(Number(x.isLeader) + Number(y.isLeader)).toBe(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    const writes = fake.requests.slice(from).filter((r) => r.resource === 'leases.coordination.k8s.io' && r.verb === 'create');
    expect(writes.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('steps down within the renew deadline when the apiserver stops answering', async () => {
    const client = KubeClient.fromFile(fake.kubeconfigPath);
    let stopped = 0;
    const e = new LeaderElector({
      client, log: captureLogs('info').log, namespace: 'kube-system', name: 'engine-hung', identity: 'solo',
      leaseDurationMs: 3000, renewDeadlineMs: 1000, retryPeriodMs: 200,
      onStoppedLeading: () => void stopped++,
    });
    electors.push(e);
    e.start();
    await waitFor(() => e.isLeader);
    fake.stallRequests = true;
    const t0 = Date.now();
    try {
      await waitFor(() => !e.isLeader, 5000, 'step down');
      // Before its lease (3 s) could have expired for the others.
      expect(Date.now() - t0).toBeLessThan(2500);
      expect(stopped).toBe(1);
    } finally {
      fake.stallRequests = false;
    }
  });

  it('steps down when it cannot renew within the renew deadline', async () => {
    const client = KubeClient.fromFile(fake.kubeconfigPath);
    let stopped = 0;
    const e = new LeaderElector({
      client, log: captureLogs('info').log, namespace: 'kube-system', name: 'engine-deadline', identity: 'solo',
      leaseDurationMs: 3000, renewDeadlineMs: 1000, retryPeriodMs: 200,
      onStoppedLeading: () => void stopped++,
    });
    electors.push(e);
    e.start();
    await waitFor(() => e.isLeader);
    // Someone else overwrites the lease (as after a partition): renewals now conflict or find another holder.
    fake.update('leases.coordination.k8s.io', { ...fake.get('leases.coordination.k8s.io', 'kube-system', 'engine-deadline')!, spec: { holderIdentity: 'intruder', leaseDurationSeconds: 30, renewTime: new Date().toISOString() } });
    await waitFor(() => !e.isLeader, 5000);
    expect(stopped).toBe(1);
  });
});
