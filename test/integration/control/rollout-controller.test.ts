import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlState, KINDS } from '../../../collector/control/control-state.ts';
import { inRollout } from '../../../collector/control/rollouts/assignment.ts';
import { RolloutController } from '../../../collector/control/rollouts/rollout-controller.ts';
import { AnalysisSpec, type Rollout } from '../../../collector/control/rollouts/rollout-spec.ts';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import { createLogger } from '../../../src/log/logger.ts';
import type { AgentState } from '../../../src/protocol/heartbeat.ts';
import { manifestFor } from '../../../src/release/build-release.ts';
import { heartbeat } from '../../helpers/heartbeat-factory.ts';

// The controller against a real SQLite store, driven by heartbeats ingested by hand and ticks at chosen times.
const log = createLogger({ name: 'rollout-test', level: 'silent' });
let store: SqliteStore;
let state: ControlState;
let controller: RolloutController;
const seqs = new Map<string, number>();
const boot = randomUUID();

async function report(podUid: string, app: string, agent: Partial<AgentState>, at = Date.now()): Promise<void> {
  const seq = (seqs.get(podUid) ?? -1) + 1;
  seqs.set(podUid, seq);
  await store.ingest([heartbeat({ instance: { podUid, namespace: 'shop', app }, bootId: boot, seq, sentAt: new Date(at).toISOString(), intervalMs: 10_000, agent: { workerVersion: '1.0.0', ...agent } })], at);
}

async function startRollout(over: Partial<Rollout>): Promise<Rollout> {
  const now = Date.now();
  const r: Rollout = {
    id: `ro-${randomUUID()}`, target: '2.0.0', selector: {}, steps: [{ percent: 1 }, { percent: 100 }], analysis: AnalysisSpec.parse({ window: '10s', updateTimeout: '1m' }),
    status: 'running', createdBy: 't', createdAt: now, updatedAt: now, fromVersions: {}, baseline: { instances: 0, breakerOpen: 0, crashloop: 0, silent: 0, failing: 0 },
    currentStep: 0, stepStates: [], ...over,
  };
  await store.putRecord(KINDS.rollout, r.id, r, { expectedVersion: 0 });
  await state.changed();
  return r;
}

const get = async (id: string) => (await store.getRecord<Rollout>(KINDS.rollout, id))!.body;

beforeAll(async () => {
  store = new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'podpulse-rollout-')), 'store.db') });
  await store.migrate();
  state = new ControlState(store, log);
  await state.start(60_000);
  await store.putRecord(KINDS.release, '2.0.0', { ...manifestFor('2.0.0', Buffer.from('x')), signature: Buffer.alloc(64).toString('base64') });
  controller = new RolloutController({ store, state, log, tickMs: 60_000, eventSource: '/test' });
});

afterAll(async () => {
  state?.stop();
  await store?.close();
});

describe('rollout controller', () => {
  it('fails a step at once when a worker on the target crashloops, and emits an event naming it', async () => {
    const uids = Array.from({ length: 4 }, () => randomUUID());
    for (const u of uids) await report(u, 'cart', {});
    const r = await startRollout({ selector: { app: 'cart' } });
    const t0 = Date.now();
    await controller.tick(t0);
    const started = await get(r.id);
    expect(started.stepStates[0]).toMatchObject({ phase: 'updating', counts: { targeted: 1 } });
    const canary = uids.find((u) => inRollout(started, { podUid: u, namespace: 'shop', app: 'cart', tenant: '' }))!;
    await report(canary, 'cart', { workerVersion: '2.0.0' });
    await controller.tick(t0 + 1000);
    expect((await get(r.id)).stepStates[0]!.phase).toBe('observing');
    await report(canary, 'cart', { workerVersion: '2.0.0', worker: 'crashloop' });
    await controller.tick(t0 + 2000);
    const failed = await get(r.id);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/1 worker\(s\) crashlooping on 2\.0\.0/);
    const events = await store.listEvents({ type: 'io.podpulse.rollout.failed' });
    expect(events.items.find((e) => e.subject === `rollout/${r.id}`)).toMatchObject({ app: 'cart', status: 'firing' });
  });

  it('fails a step whose instances do not report the target within updateTimeout, and counts the silent ones apart', async () => {
    const uids = Array.from({ length: 3 }, () => randomUUID());
    for (const u of uids) await report(u, 'api', {});
    const r = await startRollout({ selector: { app: 'api' }, steps: [{ percent: 100 }] });
    const t0 = Date.now();
    await controller.tick(t0);
    await report(uids[0]!, 'api', { workerVersion: '2.0.0' }, t0 + 1000);
    await report(uids[1]!, 'api', {}, t0 + 20_000);
    await controller.tick(t0 + 21_000);
    expect((await get(r.id)).stepStates[0]).toMatchObject({ phase: 'updating', counts: { targeted: 3, updated: 1, silent: 0 } });
    // uids[1] keeps beating on the old version; uids[2] has not been heard of since t0: silent, not waited for.
    await report(uids[1]!, 'api', {}, t0 + 60_000);
    await controller.tick(t0 + 61_000);
    const failed = await get(r.id);
    expect(failed.status).toBe('failed');
    expect(failed.stepStates[0]!.counts).toMatchObject({ targeted: 3, updated: 1, silent: 1 });
    expect(failed.reason).toMatch(/step 1 failed: 1 of 3 instance\(s\) did not report 2\.0\.0 within 1m/);
  });

  it('moves nothing while paused or pinned, and says why it holds', async () => {
    const u = randomUUID();
    await report(u, 'web', {});
    const r = await startRollout({ selector: { app: 'web' }, status: 'paused' });
    await controller.tick();
    expect((await get(r.id)).stepStates).toEqual([]);
    await store.putRecord(KINDS.pin, 'global', { version: '2.0.0', by: 't', at: Date.now() });
    await store.putRecord(KINDS.rollout, r.id, { ...(await get(r.id)), status: 'running' });
    await state.changed();
    await controller.tick();
    expect(await get(r.id)).toMatchObject({ status: 'running', hold: expect.stringMatching(/pinned to 2\.0\.0/) as unknown, stepStates: [] });
    await store.deleteRecord(KINDS.pin, 'global');
    await state.changed();
    await controller.tick();
    const moving = await get(r.id);
    expect(moving.hold).toBeUndefined();
    expect(moving.stepStates[0]).toMatchObject({ phase: 'updating', counts: { targeted: 1 } });
  });
});
