import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../collector/engine/clock.ts';
import { objectKey } from '../../../collector/engine/kube/object-event.ts';
import { RuleEngine } from '../../../collector/engine/rule-engine.ts';
import { kindInfo } from '../../../collector/engine/rules/kinds.ts';
import { RuleRegistry } from '../../../collector/engine/rules/rule-registry.ts';
import { ruleRoutes } from '../../../collector/engine/rules/rule-routes.ts';
import { startCollector, type RunningCollector } from '../../../collector/start-collector.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';

const seed = (name: string): string => readFileSync(join(import.meta.dirname, '../../unit/engine/seed-rules', `${name}.json`), 'utf8');

let c: (RunningCollector & { dir: string }) | undefined;
let engine: RuleEngine | undefined;
afterEach(async () => {
  await engine?.close();
  await c?.close();
  c = undefined;
  engine = undefined;
});

async function start(): Promise<{ url: string; registry: RuleRegistry; clock: ManualClock }> {
  const holder: { registry?: RuleRegistry } = {};
  const clock = new ManualClock();
  const routes: Parameters<typeof startCollector>[2] = { routes: [ruleRoutes(() => holder.registry)] };
  c = await collectorUnderTest({}, routes);
  engine = await RuleEngine.open({ store: c.store, clock });
  const { registry } = await RuleRegistry.open(c.store, (set) => engine!.setRules(set));
  holder.registry = registry;
  return { url: c.url, registry, clock };
}

const put = (url: string, name: string, body: string) => fetch(`${url}/api/v1/rules/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });

describe('the rules API', () => {
  it('PUT loads a seed rule verbatim, the engine runs it, GET lists it with its CEL, DELETE removes it', async () => {
    const { url, clock } = await start();
    const r = await put(url, 'ServiceDeleting', seed('ServiceDeleting'));
    expect(r.status).toBe(200);
    const view = (await r.json()) as { name: string; origin: string; cel: { condition: string } };
    expect(view).toMatchObject({ name: 'ServiceDeleting', origin: 'api' });
    expect(view.cel.condition).toContain('object.metadata.deletionTimestamp');

    const svc = { kind: 'Service', metadata: { name: 'api', namespace: 'shop', uid: 'u1', labels: { 'sae-domain': 'sae-domain' }, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    const res = kindInfo('Service')!.resource;
    await engine!.handle({ type: 'MODIFIED', resource: res, key: objectKey('shop', 'api'), uid: 'u1', resourceVersion: '5', object: engine!.projection('Service')(svc) });
    await clock.advance(300_000);
    await engine!.idle();
    expect((await c!.store.listEvents()).items.map((e) => [e.type, e.status])).toEqual([['io.podpulse.rule.service-deleting', 'firing']]);

    const list = (await (await fetch(`${url}/api/v1/rules`)).json()) as { items: { name: string }[] };
    expect(list.items.map((i) => i.name)).toEqual(['ServiceDeleting']);
    expect((await fetch(`${url}/api/v1/rules/ServiceDeleting`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${url}/api/v1/rules/ServiceDeleting`)).status).toBe(404);
    expect((await c!.store.listEvents()).items.map((e) => e.status)).toEqual(['resolved']);
  });

  it('refuses a bad rule with 400, the error and its path, and keeps the rules in force', async () => {
    const { url, registry } = await start();
    expect((await put(url, 'PodSidecarNotReady', seed('PodSidecarNotReady'))).status).toBe(200);
    const bad = JSON.parse(seed('PodSidecarNotReady')) as { PodSidecarNotReady: { checkField: { subField: string[] }[] } };
    bad.PodSidecarNotReady.checkField[0]!.subField = ['ready', 'status'];
    const r = await put(url, 'PodSidecarNotReady', JSON.stringify(bad));
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: string; message: string; violations: { path: string; message: string }[] } };
    expect(body.error.code).toBe('PODPULSE_ERR_RULE_INVALID');
    expect(body.error.violations[0]!.path).toBe('PodSidecarNotReady.checkField[0].subField');
    expect(body.error.violations[0]!.message).toMatch(/field type mismatch/);
    const cel = await put(url, 'Broken', JSON.stringify({ resource: 'Pod', condition: 'object.status.phase ==' }));
    expect(((await cel.json()) as { error: { violations: { path: string }[] } }).error.violations[0]!.path).toBe('Broken.condition');
    expect(registry.list().map((x) => x.name)).toEqual(['PodSidecarNotReady']);
    expect(registry.get('PodSidecarNotReady')!.rule.checkField![0]!.subField).toEqual(['ready']);
  });

  it('API rules persist in the store: a new registry on the same store has them', async () => {
    const { url } = await start();
    expect((await put(url, 'ServiceDeleting', seed('ServiceDeleting'))).status).toBe(200);
    const { registry, skipped } = await RuleRegistry.open(c!.store);
    expect(skipped).toEqual([]);
    expect(registry.list().map((r) => r.name)).toEqual(['ServiceDeleting']);
  });
});
