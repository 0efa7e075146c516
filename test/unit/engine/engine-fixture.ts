import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../collector/engine/clock.ts';
import { objectKey, type KubeObject, type ObjectEvent, type ObjectEventType } from '../../../collector/engine/kube/object-event.ts';
import { RuleEngine, type RuleEngineOptions } from '../../../collector/engine/rule-engine.ts';
import { parseRuleDocument } from '../../../collector/engine/rules/rule-document.ts';
import { RuleSet } from '../../../collector/engine/rules/rule-set.ts';
import { kindInfo } from '../../../collector/engine/rules/kinds.ts';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import type { StoredEvent } from '../../../collector/store/store.ts';

/** The seed rules exactly as shipped in ../shared/seed-rules (copied byte for byte into ./seed-rules). */
export function seedRule(name: 'PodSidecarNotReady' | 'ServiceDeleting'): unknown {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'seed-rules', `${name}.json`), 'utf8'));
}

export function rules(...docs: unknown[]): RuleSet {
  return RuleSet.compile(docs.flatMap((d) => parseRuleDocument(d)));
}

/** A real SQLite store in a temporary directory; `reopen` gives a new store on the same file (a restart). */
export async function tempStore(): Promise<{ store: SqliteStore; path: string; reopen(): Promise<SqliteStore>; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-engine-'));
  const path = join(dir, 'store.db');
  const opened: SqliteStore[] = [];
  const open = async (): Promise<SqliteStore> => {
    const s = new SqliteStore({ path });
    await s.migrate();
    // A restart closes the store in the test; cleanup closes what is still open, once.
    const close = s.close.bind(s);
    let closing: Promise<void> | undefined;
    s.close = () => (closing ??= close());
    opened.push(s);
    return s;
  };
  const store = await open();
  return {
    store,
    path,
    reopen: open,
    cleanup: async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Harness {
  clock: ManualClock;
  engine: RuleEngine;
  store: SqliteStore;
  /** Projects `obj` as the reflector would, and hands the event to the engine. */
  send(type: ObjectEventType, obj: KubeObject): Promise<void>;
  events(): Promise<StoredEvent[]>;
}

let rv = 1000;

export async function harness(store: SqliteStore, set: RuleSet, opts: Partial<RuleEngineOptions> & { clock?: ManualClock } = {}): Promise<Harness> {
  const clock = opts.clock ?? new ManualClock();
  const engine = await RuleEngine.open({ store, clock, rules: set, ...opts });
  return {
    clock,
    engine,
    store,
    send: async (type, obj) => {
      const kind = String(obj.kind);
      const info = kindInfo(kind)!;
      const md = obj.metadata as { name: string; namespace?: string; uid: string };
      const ev: ObjectEvent = {
        type,
        resource: info.resource,
        key: objectKey(info.resource.namespaced ? md.namespace : undefined, md.name),
        uid: md.uid,
        resourceVersion: String(++rv),
        object: engine.projection(kind)(obj),
      };
      await engine.handle(ev);
    },
    events: async () => (await store.listEvents({ limit: 1000 })).items,
  };
}

export function pod(name: string, o: { phase?: string; sidecarReady?: boolean; component?: string; deleting?: boolean; node?: string; uid?: string; configMap?: string; restarts?: number; labels?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      uid: o.uid ?? `uid-${name}`,
      labels: { 'sae.component': o.component ?? 'app', ...o.labels },
      annotations: { big: 'x'.repeat(2000) },
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { nodeName: o.node ?? 'node-1', containers: [{ name: 'app', image: 'app:1' }, { name: 'sidecar', image: 'podpulse:1' }], ...(o.configMap ? { volumes: [{ name: 'cfg', configMap: { name: o.configMap } }], cm: o.configMap } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      containerStatuses: [
        { name: 'app', ready: true, restartCount: o.restarts ?? 0, image: 'app:1', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
        { name: 'sidecar', ready: o.sidecarReady ?? true, restartCount: 0, image: 'podpulse:1' },
      ],
    },
  };
}

export function service(name: string, o: { deleting?: boolean; domain?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', uid: `uid-svc-${name}`, labels: { 'sae-domain': o.domain ?? 'sae-domain' }, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['x/y'] } : {}) },
    spec: { type: 'ClusterIP', clusterIP: '10.0.0.1', ports: [{ port: 80 }] },
  };
}

export function node(name: string, ready: 'True' | 'False' | 'Unknown'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-node-${name}` },
    status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: ready }] },
  };
}
