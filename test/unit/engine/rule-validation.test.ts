import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.ts';
import { compileRule } from '../../../collector/engine/rules/compile-rule.ts';
import { parseRuleDocument } from '../../../collector/engine/rules/rule-document.ts';
import { RuleSet } from '../../../collector/engine/rules/rule-set.ts';
import { seedRule } from './engine-fixture.ts';

function refused(doc: unknown, name?: string): { path: string; message: string }[] {
  try {
    parseRuleDocument(doc, name).map(compileRule);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('PODPULSE_ERR_RULE_INVALID');
    return [...(err as ValidationError).violations];
  }
  throw new Error('the rule was accepted');
}

const sidecar = (patch: Record<string, unknown>) => ({
  PodSidecarNotReady: { resource: 'Pod', duration: 300, checkField: [{ field: ['status', 'containerStatuses'], equalValue: ['false'], subIdentifierName: 'name', subIdentifierValue: ['sidecar'], subField: ['ready'], ...patch }] },
});

describe('rules are validated when loaded, with the error and its path', () => {
  it('accepts both seed rules verbatim and compiles them to CEL', () => {
    const set = RuleSet.compile([...parseRuleDocument(seedRule('PodSidecarNotReady')), ...parseRuleDocument(seedRule('ServiceDeleting'))]);
    const r = set.rules.get('PodSidecarNotReady')!;
    expect(r.durationMs).toBe(300_000);
    expect(r.cel.filter).toContain('text(object.status.phase) in ["Running"]');
    expect(r.cel.filter).toContain('object.metadata.labels["sae.component"]');
    expect(r.cel.condition).toContain('object.status.containerStatuses.exists(e,');
    expect(set.rules.get('ServiceDeleting')!.cel.condition).toContain('!(text(object.metadata.deletionTimestamp) in [""])');
  });

  it.each([
    ['a subField that reads past a scalar', sidecar({ subField: ['ready', 'value'] }), 'PodSidecarNotReady.checkField[0].subField', /field type mismatch: .*ready is bool/],
    ['an equalValue a bool can never have', sidecar({ equalValue: ['no'] }), 'PodSidecarNotReady.checkField[0].equalValue', /is bool, so "no" can never match/],
    ['sub-fields on a field that is not a list', sidecar({ field: ['status', 'phase'] }), 'PodSidecarNotReady.checkField[0].subIdentifierName', /status\.phase is string, not a list/],
    ['a list compared as a scalar', { R: { resource: 'Pod', checkField: [{ field: ['status', 'conditions'], equalValue: ['x'] }] } }, 'R.checkField[0].equalValue', /is list\(object\)/],
    ['a typo in metadata', { R: { resource: 'Pod', checkField: [{ field: ['metadata', 'lables', 'a'], nilValue: true }] } }, 'R.checkField[0].field[1]', /metadata has no field "lables"/],
    ['two tests in one entry', { R: { resource: 'Pod', checkField: [{ field: ['status', 'phase'], equalValue: ['x'], nilValue: true }] } }, 'R.checkField[0]', /exactly one of equalValue, notEqualValue, nilValue/],
    ['half a sub-field selector', sidecar({ subField: undefined }), 'PodSidecarNotReady.checkField[0].subField', /go together/],
    ['an unknown kind', { R: { resource: 'Pood', condition: 'true' } }, 'R.resource', /unknown kind "Pood"/],
    ['an unknown referenced kind', { R: { resource: 'Pod', references: { n: { resource: 'Nod', key: 'object.spec.nodeName' } }, condition: 'true' } }, 'R.references.n.resource', /unknown kind "Nod"/],
    ['CEL that does not parse', { R: { resource: 'Pod', condition: "object.status.phase == 'a' &&" } }, 'R.condition', /does not parse as CEL: at 1:/],
    ['an undeclared variable', { R: { resource: 'Pod', condition: 'pod.status.phase == "x"' } }, 'R.condition', /undeclared reference to 'pod'/],
    ['a field compared with the wrong type', { R: { resource: 'Pod', condition: 'object.status.phase == 3' } }, 'R.condition', /at 1:21: field type mismatch: object\.status\.phase \(string\) is compared with int/],
    ['a field read past a scalar', { R: { resource: 'Pod', filter: 'object.spec.nodeName.name == "x"', condition: 'true' } }, 'R.filter', /a string has no field "name"|nodeName is string/],
    ['a condition that is not boolean', { R: { resource: 'Pod', condition: 'object.status.phase' } }, 'R.condition', /must evaluate to bool, got string/],
    ['an unknown function', { R: { resource: 'Pod', condition: 'lower(object.status.phase) == "x"' } }, 'R.condition', /unknown function 'lower'/],
    ['a reference key that is not a string', { R: { resource: 'Pod', references: { n: { resource: 'Node', key: 'size(object.spec.containers)' } }, condition: 'n == null' } }, 'R.references.n.key', /must evaluate to string, got int/],
    ['an unknown summary variable', { R: { resource: 'Pod', condition: 'true', summary: '{{pod.name}} is down' } }, 'R.summary', /unknown template variable \{\{pod\}\}/],
    ['no condition at all', { R: { resource: 'Pod', filterField: [{ field: ['status', 'phase'], equalValue: ['Running'] }] } }, 'R.checkField', /needs checkField or condition/],
    ['a negative duration', { R: { resource: 'Pod', duration: -1, condition: 'true' } }, 'R.duration', /at least 0/],
  ])('refuses %s', (_what, doc, path, message) => {
    const v = refused(doc);
    expect(v.map((x) => x.path)).toContain(path);
    expect(v.find((x) => x.path === path)!.message).toMatch(message);
  });

  it('requires the document under an API name to hold exactly that rule', () => {
    expect(refused(seedRule('ServiceDeleting'), 'Other')[0]!.message).toMatch(/must hold the rule "Other" only/);
    expect(parseRuleDocument({ resource: 'Pod', condition: 'true' }, 'Bare')[0]!.name).toBe('Bare');
  });

  it('projects only what the rules read, plus identity', () => {
    const set = RuleSet.compile(parseRuleDocument(seedRule('PodSidecarNotReady')));
    const projected = set.projection('Pod')({
      metadata: { name: 'a', namespace: 'n', uid: 'u', resourceVersion: '7', labels: { 'sae.component': 'app', other: 'x' }, annotations: { huge: 'x'.repeat(10_000) } },
      spec: { containers: [{ name: 'app', image: 'i', env: [{ name: 'A', value: 'b' }] }] },
      status: { phase: 'Running', podIP: '10.0.0.1', containerStatuses: [{ name: 'sidecar', ready: false, restartCount: 2, state: { running: {} } }] },
    });
    expect(projected).toEqual({
      metadata: { name: 'a', namespace: 'n', uid: 'u', resourceVersion: '7', labels: { 'sae.component': 'app' } },
      status: { phase: 'Running', containerStatuses: [{ name: 'sidecar', ready: false }] },
    });
    expect(set.projectedFields('Pod')).toEqual([
      'metadata.deletionTimestamp', 'metadata.labels.sae.component', 'metadata.name', 'metadata.namespace', 'metadata.resourceVersion', 'metadata.uid',
      'status.containerStatuses.[].name', 'status.containerStatuses.[].ready', 'status.phase',
    ]);
  });
});
