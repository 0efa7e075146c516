// The watch engine inside a collector against a real cluster: the seed rules fire on real objects whose status is
// patched through the status subresource, and two collectors share a real Lease. Run against the kube-apiserver
// v1.20 tier (engine-real-apiserver.test.ts) and against k3s or a given cluster (engine-k3s.test.ts).
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../collector/engine/kube/kube-client.ts';
import { makePod } from '../../helpers/fake-kube-apiserver/pods.ts';
import { waitFor } from '../../helpers/fake-kube-apiserver/recording-sink.ts';
import { testPostgres, type TestPostgres } from '../../helpers/postgres.ts';
import { engineCollector, engineReady, eventSummary, putRule, seedRule, sleep, type Collector } from './engine-harness.ts';

/** Where the cluster is; `kubeconfig` is read in beforeAll, so a container may start there. */
export interface ClusterTier {
  title: string;
  enabled: boolean;
  start(): Promise<string>;
  stop?(): Promise<void>;
  /** v1.20 has no streaming list: the reflectors must have fallen back to paginated LIST. */
  legacyServer: boolean;
}

export function engineClusterSuite(tier: ClusterTier): void {
  describe.skipIf(!tier.enabled)(tier.title, () => {
    let kubeconfig = '';
    const ns = `test-${randomBytes(4).toString('hex')}`;
    let client: KubeClient;
    const collectors: Collector[] = [];
    let pg: TestPostgres | undefined;

    beforeAll(async () => {
      kubeconfig = await tier.start();
      client = KubeClient.fromFile(kubeconfig);
      await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
    });
    afterEach(async () => {
      for (const c of collectors.splice(0)) await c.close();
      await pg?.stop();
      pg = undefined;
    });
    afterAll(async () => {
      await client?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
      await tier.stop?.();
    });

    /** Creates a pod as a client does (no status), then sets its status through the status subresource, as a kubelet. */
    async function pod(name: string, sidecarReady: boolean): Promise<void> {
      const { metadata, spec, status } = makePod({ namespace: ns, name, sidecarReady });
      delete (spec as Record<string, unknown>).nodeName;
      await client.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: { apiVersion: 'v1', kind: 'Pod', metadata, spec } });
      await setStatus(name, sidecarReady, status);
    }

    async function setStatus(name: string, sidecarReady: boolean, status = makePod({ namespace: ns, name, sidecarReady }).status): Promise<void> {
      await client.request('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, { contentType: 'application/merge-patch+json', body: { status } });
    }

    const service = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns, labels: { 'sae-domain': 'sae-domain' }, finalizers: ['example.com/hold'] },
      spec: { ports: [{ port: 80 }] },
    });

    /** This namespace's events only: the real stack is shared with other test files. */
    const mine = async (c: Collector): Promise<string[]> => (await eventSummary(c)).filter((s) => s.includes(`/${ns}/`));

    async function waitMine(c: Collector, n: number, ms = 20_000): Promise<string[]> {
      const end = Date.now() + ms;
      for (;;) {
        const s = await mine(c);
        if (s.length >= n) return s;
        if (Date.now() > end) throw new Error(`expected ${n} events in ${ns}, got ${JSON.stringify(s)}`);
        await sleep(100);
      }
    }

    it('the seed rules fire on real objects whose status is patched through the status subresource', async () => {
      const c = await engineCollector({ kubeconfig: kubeconfig, engine: { streamingList: true } });
      collectors.push(c);
      await engineReady(c, 30_000);
      expect(await putRule(c.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady', 2))).toBe(200);
      expect(await putRule(c.url, 'ServiceDeleting', seedRule('ServiceDeleting', 2))).toBe(200);
      await waitFor(() => c.engine!.term!.watches.has('Service'), 10_000, 'the Service watch');
      await c.engine!.term!.watches.get('Service')!.synced();

      await pod('stuck', false);
      await pod('recovers', false);
      await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: service('api') });
      await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: service('finishes') });
      await client.request('DELETE', `/api/v1/namespaces/${ns}/services/api`);
      await client.request('DELETE', `/api/v1/namespaces/${ns}/services/finishes`);
      await sleep(500);
      await setStatus('recovers', true);
      await client.request('PATCH', `/api/v1/namespaces/${ns}/services/finishes`, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });

      expect(await waitMine(c, 2)).toEqual([`rule.pod-sidecar-not-ready Pod/${ns}/stuck firing`, `rule.service-deleting Service/${ns}/api firing`]);
      await sleep(2500);
      expect(await mine(c)).toHaveLength(2);
      if (tier.legacyServer) expect(c.engine!.term!.watches.get('Pod')!.stats.streamingLists).toBe(0);

      await setStatus('stuck', true);
      await client.request('PATCH', `/api/v1/namespaces/${ns}/services/api`, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });
      const end = Date.now() + 20_000;
      while (!(await mine(c)).every((s) => s.endsWith('resolved'))) {
        if (Date.now() > end) throw new Error(`not resolved: ${JSON.stringify(await mine(c))}`);
        await sleep(100);
      }
    });

    it('two collectors share a real Lease: one leads and fires; when it leaves the other takes over', async (t) => {
      pg = await testPostgres();
      if (!pg.url) t.skip(`[${tier.title}] two-collector case SKIPPED: ${pg.reason}`);
      const replica = async (identity: string) => {
        const c = await engineCollector({
          kubeconfig: kubeconfig,
          store: { kind: 'postgres', url: pg!.url, schema: pg!.schema },
          engine: { rulesRefreshInterval: '300ms', leaderElection: { enabled: true, namespace: ns, name: 'engine', identity, leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '500ms' } },
        });
        collectors.push(c);
        return c;
      };
      const a = await replica('real-a');
      await waitFor(() => a.engine!.isLeader, 15_000, 'a leads');
      const b = await replica('real-b');
      await sleep(1500);
      expect(b.engine!.isLeader).toBe(false);
      const lease = await client.request<{ spec: { holderIdentity: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/engine`);
      expect(lease.spec.holderIdentity).toBe('real-a');

      expect(await putRule(b.url, 'PodSidecarNotReady', seedRule('PodSidecarNotReady', 0))).toBe(200);
      await waitFor(() => a.engine!.registry.list().length === 1, 10_000, 'the leader has the rule');
      await sleep(500);
      await pod('lease-1', false);
      expect(await waitMine(a, 1)).toEqual([`rule.pod-sidecar-not-ready Pod/${ns}/lease-1 firing`]);
      expect(b.engine!.term).toBeUndefined();

      await a.close();
      collectors.splice(collectors.indexOf(a), 1);
      await waitFor(() => b.engine!.isLeader, 5_000, 'b leads');
      await pod('lease-2', false);
      expect(await waitMine(b, 2)).toEqual([`rule.pod-sidecar-not-ready Pod/${ns}/lease-1 firing`, `rule.pod-sidecar-not-ready Pod/${ns}/lease-2 firing`]);
      await sleep(1000);
      expect(await mine(b)).toHaveLength(2);
      const after = await client.request<{ spec: { holderIdentity: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/engine`);
      expect(after.spec.holderIdentity).toBe('real-b');
    });
  });
}
