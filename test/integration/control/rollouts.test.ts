import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRelease, signManifest } from '../../../src/release/build-release.ts';
import { ROOT, type DaemonRun } from '../../helpers/daemon-harness.ts';
import { fakeBundle, RELEASE_KEYS } from '../../helpers/release-fixture.ts';
import { controlCollector, eventually, operatorApi, OPS, PKG_VERSION, pod, signed, startPodDaemon, upload, type Json } from './control-fixture.ts';

const web = [pod('web'), pod('web'), pod('web')];
const other = pod('api');
let env: Awaited<ReturnType<typeof controlCollector>>;
let call: ReturnType<typeof operatorApi>;
const daemons: DaemonRun[] = [];

const versionOf = async (uid: string) => (await env.collector.store.getInstance(uid))?.agent;
const versions = async () => Promise.all(web.map(async (p) => (await versionOf(p.podUid))?.workerVersion));

async function rolloutUntil(id: string, statuses: string[], timeoutMs: number): Promise<Json> {
  return eventually(async () => {
    const r = await call('GET', `/api/v1/rollouts/${id}`, undefined, OPS.viewer);
    return statuses.includes(r.body.status as string) ? r.body : undefined;
  }, timeoutMs, `rollout ${id} to reach ${statuses.join('|')}`);
}

beforeAll(async () => {
  env = await controlCollector([...web, other]);
  call = operatorApi(env.collector.url);
  // Every pod has PODPULSE_TEST_MARK set and checks it; the 9.3.0 build removes it from its own environment.
  const mark = { id: 'mark', kind: 'env', spec: { required: [{ name: 'PODPULSE_TEST_MARK' }] } };
  expect((await call('PUT', '/api/v1/config/scopes/global', { document: { heartbeat: { interval: '1s' }, defaults: { interval: '1s', timeout: '500ms' }, checks: [mark] } })).status).toBe(200);
  // A real release: the worker bundled by esbuild reporting 9.1.0, signed with the key the daemons trust.
  const built = await buildRelease({ version: '9.1.0', outDir: mkdtempSync(join(tmpdir(), 'podpulse-build-')), root: ROOT });
  expect(built.manifest.build.node).toBe(process.version);
  const good = await upload(env.collector.url, readFileSync(built.bundlePath), signManifest(built.manifest, RELEASE_KEYS.privateKeyPem, 'test'));
  expect(good.status, JSON.stringify(good.body)).toBe(201);
  const unhealthy = await buildRelease({ version: '9.3.0', outDir: mkdtempSync(join(tmpdir(), 'podpulse-build-')), root: ROOT, entry: 'test/integration/control/fixtures/worker-without-mark.ts' });
  expect((await upload(env.collector.url, readFileSync(unhealthy.bundlePath), signManifest(unhealthy.manifest, RELEASE_KEYS.privateKeyPem, 'test'))).status).toBe(201);
  const bad = fakeBundle('9.2.0', 'crash-at-start.mjs');
  expect((await upload(env.collector.url, bad, signed('9.2.0', bad))).status).toBe(201);
  for (const p of [...web, other]) daemons.push(startPodDaemon(env.collector.url, p, env.dir, {}, { PODPULSE_TEST_MARK: 'set' }));
  await eventually(async () => (await versions()).every((v) => v === PKG_VERSION) && (await versionOf(other.podUid))?.workerVersion === PKG_VERSION, 60_000, 'the fleet beating on the baked worker');
}, 120_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.kill()));
  await env?.collector.close();
});

describe('gray rollout with real daemons', () => {
  it('stops a release whose worker crashes at start at the first step, sends the canary back and emits an event', async () => {
    const start = await call('POST', '/api/v1/rollouts', { target: '9.2.0', selector: { app: 'web' }, steps: [{ percent: 1 }, { percent: 100 }], analysis: { window: '2s', updateTimeout: '60s' } });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const id = start.body.id as string;
    expect(start.body.fromVersions).toEqual({ [PKG_VERSION]: 3 });
    const r = await rolloutUntil(id, ['failed', 'succeeded'], 90_000);
    expect(r.status).toBe('failed');
    expect(r.currentStep).toBe(0);
    expect(r.reason).toMatch(/step 1 failed: 1 update failure\(s\) to 9\.2\.0/);
    const steps = r.steps as Json[];
    expect(steps[0]).toMatchObject({ phase: 'failed', targeted: 1, updated: 0, failed: 1, rolledBack: 1, verdict: { result: 'fail', updateFailures: 1 } });
    expect(steps[1]).toMatchObject({ phase: 'pending' });
    // Every instance still runs the old worker; exactly one (the canary) tried 9.2.0 and rolled it back.
    expect(await versions()).toEqual([PKG_VERSION, PKG_VERSION, PKG_VERSION]);
    const tried = (await Promise.all(web.map((p) => versionOf(p.podUid)))).filter((a) => a?.update?.desired === '9.2.0');
    expect(tried).toHaveLength(1);
    expect(tried[0]!.update).toMatchObject({ status: 'rolled-back', current: PKG_VERSION });
    for (const p of web) expect((await call('GET', `/api/v1/config/effective/${p.podUid}`, undefined, OPS.viewer)).body.releaseSource).toBeNull();
    const events = await env.collector.store.listEvents({ type: 'io.podpulse.rollout.failed' });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({ status: 'firing', app: 'web', subject: `rollout/${id}` });
  }, 120_000);

  it('moves a good release through 1 % → 50 % → 100 % on its own, judging each step', async () => {
    const start = await call('POST', '/api/v1/rollouts', { target: '9.1.0', selector: { app: 'web' }, steps: [{ percent: 1 }, { percent: 50 }, { percent: 100 }], analysis: { window: '1s', updateTimeout: '60s' } });
    expect(start.status).toBe(201);
    const r = await rolloutUntil(start.body.id as string, ['succeeded', 'failed'], 150_000);
    expect(r.reason ?? '').not.toMatch(/failed/);
    expect(r.status).toBe('succeeded');
    const steps = r.steps as { targeted: number; updated: number; failed: number; verdict: { result: string; newGroup: { instances: number } } }[];
    expect(steps.map((s) => s.verdict.result)).toEqual(['pass', 'pass', 'pass']);
    expect(steps[0]!.verdict.newGroup.instances).toBe(1);
    expect(steps[2]).toMatchObject({ targeted: 3, updated: 3, failed: 0 });
    await eventually(async () => (await versions()).every((v) => v === '9.1.0'), 30_000, 'the whole app on 9.1.0');
    // Outside the selector nothing moved.
    expect((await versionOf(other.podUid))?.workerVersion).toBe(PKG_VERSION);
  }, 180_000);

  it('rolls an installed release that makes checks fail back to the previous release on every instance it reached', async () => {
    const start = await call('POST', '/api/v1/rollouts', { target: '9.3.0', selector: { app: 'web' }, steps: [{ percent: 1 }, { percent: 100 }], analysis: { window: '3s', updateTimeout: '60s' } });
    expect(start.status).toBe(201);
    const r = await rolloutUntil(start.body.id as string, ['failed', 'succeeded'], 90_000);
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/failing checks: 100\.0% of 1 on 9\.3\.0 vs 0\.0% on the old version/);
    const step = (r.steps as Json[])[0]!;
    expect(step).toMatchObject({ targeted: 1, updated: 1, verdict: { result: 'fail', newGroup: { instances: 1, failing: 1 }, oldGroup: { instances: 2, failing: 0 } } });
    // The canary had installed 9.3.0; the rollout's failure sends it back to 9.1.0, which its daemon reinstalls.
    await eventually(async () => (await versions()).every((v) => v === '9.1.0'), 60_000, 'the canary back on 9.1.0');
    const after = (await call('GET', `/api/v1/rollouts/${String(r.id)}`, undefined, OPS.viewer)).body;
    expect((after.steps as Json[])[0]).toMatchObject({ targeted: 1, rolledBack: 1 });
    expect((await env.collector.store.listEvents({ type: 'io.podpulse.rollout.failed' })).items).toHaveLength(2);
  }, 120_000);

  it('holds a rollout while the fleet is pinned: every instance runs the pinned version', async () => {
    expect((await call('PUT', '/api/v1/releases/pin', { version: '9.1.0', reason: 'freeze' })).status).toBe(200);
    const start = await call('POST', '/api/v1/rollouts', { target: '9.2.0', selector: { app: 'web' }, steps: [{ percent: 100 }], analysis: { window: '1s' } });
    expect(start.status).toBe(201);
    const id = start.body.id as string;
    await eventually(async () => (await versionOf(other.podUid))?.workerVersion === '9.1.0', 60_000, 'the pinned version reaching the instance outside the app');
    await new Promise((r) => setTimeout(r, 3000));
    const r = (await call('GET', `/api/v1/rollouts/${id}`, undefined, OPS.viewer)).body;
    expect(r).toMatchObject({ status: 'running', hold: expect.stringMatching(/pinned to 9\.1\.0/) as unknown, stepStates: [] });
    for (const p of [...web, other]) {
      const a = await versionOf(p.podUid);
      expect(a?.workerVersion).toBe('9.1.0');
      expect(a?.update?.desired).toBe('9.1.0');
      expect((await call('GET', `/api/v1/config/effective/${p.podUid}`, undefined, OPS.viewer)).body.releaseSource).toBe('pin');
    }
    const abort = await call('POST', `/api/v1/rollouts/${id}/abort`);
    expect(abort.body).toMatchObject({ status: 'aborted', reason: 'aborted by platform-admin' });
    expect((await call('POST', `/api/v1/rollouts/${id}/resume`)).status).toBe(409);
  }, 120_000);
});
