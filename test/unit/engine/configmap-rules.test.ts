import { describe, expect, it } from 'vitest';
import { RuleRegistry, rulesFromConfigMap } from '../../../collector/engine/rules/rule-registry.ts';
import type { RuleSet } from '../../../collector/engine/rules/rule-set.ts';
import { MemoryRecordStore } from '../../helpers/memory-record-store.ts';
import { seedRule } from './engine-fixture.ts';

describe('rules from a ConfigMap', () => {
  it('loads JSON and YAML entries, refuses bad ones with key and path, and lets API rules override', async () => {
    const data = {
      'PodSidecarNotReady.json': JSON.stringify(seedRule('PodSidecarNotReady')),
      'service.yaml': 'ServiceDeleting:\n  duration: 300\n  resource: Service\n  filterField:\n  - field: [metadata, labels, sae-domain]\n    equalValue: [sae-domain]\n  checkField:\n  - field: [metadata, deletionTimestamp]\n    notEqualValue: [""]\n',
      'broken.json': JSON.stringify({ Broken: { resource: 'Pod', condition: 'object.status.phase == 1' } }),
      'garbage.yaml': '{ not: [closed',
    };
    const pure = rulesFromConfigMap(data);
    expect(pure.rules.map((r) => r.name).sort()).toEqual(['PodSidecarNotReady', 'ServiceDeleting']);
    expect(pure.refused.map((v) => v.path)).toEqual(['broken.json: Broken.condition', 'garbage.yaml']);

    const applied: RuleSet[] = [];
    const { registry } = await RuleRegistry.open(new MemoryRecordStore(), (s) => void applied.push(s));
    const r = await registry.loadConfigMap(data);
    expect(r.loaded.sort()).toEqual(['PodSidecarNotReady', 'ServiceDeleting']);
    expect(applied.at(-1)!.rules.size).toBe(2);
    await registry.put('ServiceDeleting', { resource: 'Service', duration: 60, condition: 'has(object.metadata.deletionTimestamp)' });
    expect(registry.get('ServiceDeleting')).toMatchObject({ origin: 'api', durationSeconds: 60 });
    expect(await registry.delete('PodSidecarNotReady')).toBe('configmap');
    expect(await registry.delete('ServiceDeleting')).toBe('deleted');
    expect(registry.get('ServiceDeleting')).toMatchObject({ origin: 'configmap', durationSeconds: 300 });
  });
});
