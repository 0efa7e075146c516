import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { Clock } from '../../../collector/engine/clock.ts';
import type { StoredEvent } from '../../../collector/store/store.ts';
import type { RunningCollector } from '../../../collector/start-collector.ts';
import type { Heartbeat } from '../../../src/protocol/index.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';

export type Collector = RunningCollector & { dir: string };

/** A seed rule document from ../shared/seed-rules (copied verbatim into test/unit/engine/seed-rules). */
export function seedRule(name: 'PodSidecarNotReady' | 'ServiceDeleting', durationSeconds?: number): string {
  const text = readFileSync(join(import.meta.dirname, '../../unit/engine/seed-rules', `${name}.json`), 'utf8');
  if (durationSeconds === undefined) return text;
  const doc = JSON.parse(text) as Record<string, { duration: number }>;
  doc[name]!.duration = durationSeconds;
  return JSON.stringify(doc);
}

export interface EngineCollectorOptions {
  kubeconfig: string;
  engine?: Record<string, unknown>;
  diagnosis?: Record<string, unknown>;
  store?: Record<string, unknown>;
  events?: Record<string, unknown>;
  clock?: Clock;
}

/** An in-process collector with the engine on, following the fake (or real) apiserver of `kubeconfig`. */
export function engineCollector(o: EngineCollectorOptions): Promise<Collector> {
  const engine = { enabled: true, kubeconfig: o.kubeconfig, leaderElection: { enabled: false }, backoff: { initial: '50ms', max: '500ms' }, ...o.engine };
  return collectorUnderTest(
    { engine, ...(o.diagnosis ? { diagnosis: o.diagnosis } : {}), ...(o.store ? { store: o.store } : {}), ...(o.events ? { events: o.events } : {}) },
    o.clock ? { engineClock: o.clock } : {},
  );
}

export async function putRule(url: string, name: string, body: string): Promise<number> {
  const r = await request(`${url}/api/v1/rules/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
  await r.body.text();
  return r.statusCode;
}

export async function postHeartbeats(url: string, hbs: Heartbeat[]): Promise<void> {
  const r = await request(`${url}/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'podpulse.io/v1', heartbeats: hbs }) });
  const text = await r.body.text();
  if (r.statusCode !== 202) throw new Error(`heartbeats refused: ${r.statusCode} ${text}`);
}

export async function events(c: Pick<Collector, 'store'>): Promise<StoredEvent[]> {
  return (await c.store.listEvents({ limit: 1000 })).items;
}

/** `type subject status` of each stored event, sorted, for exact comparisons. */
export async function eventSummary(c: Pick<Collector, 'store'>): Promise<string[]> {
  return (await events(c)).map((e) => `${e.type.replace('io.podpulse.', '')} ${e.subject ?? ''} ${e.status}`).sort();
}

export async function waitForEvents(c: Pick<Collector, 'store'>, cond: (s: string[]) => boolean, ms = 15_000, what = 'events'): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const last = await eventSummary(c);
    if (cond(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once the engine of `c` leads and every watched kind has its initial state. */
export async function engineReady(c: Collector, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!c.engine?.term) {
    if (Date.now() > deadline) throw new Error('the engine did not start leading');
    await new Promise((r) => setTimeout(r, 20));
  }
  await c.engine.term.ready;
  while (!c.diagnosis.isLeader) {
    if (Date.now() > deadline) throw new Error('the engine did not finish its initial lists');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
