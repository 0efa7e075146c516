import { isCelList, isCelMap, parse } from '@bufbuild/cel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRule } from '../../../collector/engine/rules/compile-rule.ts';
import { CEL_ERROR, program, ruleEnv, type EvalInput, type Program } from '../../../collector/engine/rules/cel-runtime.ts';
import type { FieldMatch, RuleSource } from '../../../collector/engine/rules/rule-document.ts';
import { parseRuleDocument } from '../../../collector/engine/rules/rule-document.ts';
import { seedRule } from './engine-fixture.ts';

/** A value in a form both paths can be compared in: errors, ints (bigint) and doubles told apart, lists and maps as JSON. */
function norm(v: unknown): unknown {
  if (v === CEL_ERROR) return { error: true };
  if (typeof v === 'bigint') return { int: v.toString() };
  if (typeof v === 'number') return Number.isNaN(v) ? { double: 'NaN' } : { double: Object.is(v, -0) ? 0 : v };
  if (isCelList(v)) return [...v].map(norm);
  if (isCelMap(v)) return Object.fromEntries([...v].map(([k, x]) => [typeof k === 'string' ? k : typeof k, norm(x)]));
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

const agree = (p: Program, input: EvalInput): void => {
  expect(norm(p.eval(input)), `${p.src} on ${JSON.stringify(input.vars)}`).toEqual(norm(p.interpret(input)));
};

// Keys that Kubernetes objects use, a few that plain objects inherit, and one that needs quoting.
const KEYS = ['status', 'phase', 'metadata', 'labels', 'name', 'ready', 'state', 'waiting', 'reason', 'containerStatuses', 'restartCount', 'spec', 'nodeName', 'deletionTimestamp', 'conditions', 'type', 'constructor', 'toString', 'sae.component'];
const STRINGS = ['Running', 'Failed', 'true', 'false', 't', 'FALSE', '', '1', '0', '12', '-3', '0x10', ' 7 ', '1.5', 'app', 'sidecar', 'CrashLoopBackOff', 'True', 'héllo🙂'];

/** Random JSON: nested objects and lists with missing fields, nulls, wrong types, big and fractional numbers. */
const json: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -5, max: 30 }),
    fc.constantFrom(0.5, -2.5, 1e300, 2 ** 63, -(2 ** 63), 2 ** 53 + 2),
    fc.constantFrom(...STRINGS),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 5 }),
  ),
})).v;

/** A Pod-like object: mostly the right shape, so that deep paths are reached, with random values and holes. */
const podish = fc.record(
  {
    metadata: fc.record({ name: fc.constantFrom('a', 'b'), labels: fc.oneof(json, fc.dictionary(fc.constantFrom('app', 'sae.component', 'owner'), fc.oneof(fc.constantFrom(...STRINGS), json))), deletionTimestamp: json }, { requiredKeys: [] }),
    spec: fc.record({ nodeName: fc.oneof(fc.constantFrom('n1', ''), json), replicas: json }, { requiredKeys: [] }),
    status: fc.record(
      {
        phase: fc.oneof(fc.constantFrom('Running', 'Failed', 'Pending'), json),
        availableReplicas: json,
        containerStatuses: fc.oneof(
          json,
          fc.array(fc.record({ name: fc.oneof(fc.constantFrom('app', 'sidecar'), json), ready: fc.oneof(fc.boolean(), json), restartCount: json, state: json }, { requiredKeys: [] }), { maxLength: 3 }),
        ),
        conditions: fc.oneof(json, fc.array(fc.record({ type: fc.constantFrom('Ready', 'Other'), status: fc.constantFrom('True', 'False', 'Unknown') }, { requiredKeys: [] }), { maxLength: 3 })),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

const input = (object: unknown, refs: Record<string, unknown> = {}): EvalInput => ({ vars: { object, ...refs }, nowMs: 1_800_000_000_000 });

function programsOf(doc: unknown): Program[] {
  const out: Program[] = [];
  for (const src of parseRuleDocument(doc)) {
    const r = compileRule(src);
    out.push(...r.filter, ...r.condition, ...r.references.map((x) => x.key));
  }
  return out;
}

/** The rules of the seed set, the article's paradigms and the benchmark, DSL and CEL. */
const KNOWN_RULES: unknown[] = [
  seedRule('PodSidecarNotReady'),
  seedRule('ServiceDeleting'),
  { PodWithoutOwner: { resource: 'Pod', checkField: [{ field: ['metadata', 'labels', 'owner'], nilValue: true }] } },
  { PodFailed: { resource: 'Pod', condition: "object.status.phase == 'Failed'" } },
  { PodEvicted: { resource: 'Pod', checkField: [{ field: ['status', 'phase'], equalValue: ['Failed'] }, { field: ['status', 'reason'], equalValue: ['Evicted'] }] } },
  { SidecarDown: { resource: 'Pod', condition: "object.status.containerStatuses.exists(c, c.name == 'sidecar' && !c.ready)" } },
  { Restarts: { resource: 'Pod', condition: "object.status.containerStatuses.exists(c, c.name == 'app' && c.restartCount > 3)" } },
  { Indexed: { resource: 'Pod', condition: "object.status.containerStatuses[1].state.waiting.reason == 'CrashLoopBackOff'" } },
  { Deleting: { resource: 'Pod', condition: 'has(object.metadata.deletionTimestamp)' } },
  { NoNode: { resource: 'Pod', filter: 'has(object.spec.nodeName)', condition: 'node == null', references: { node: { resource: 'Node', key: 'object.spec.nodeName' } } } },
  { OnLostNode: { resource: 'Pod', filter: "object.status.phase == 'Running'", references: { node: { resource: 'Node', key: 'object.spec.nodeName' } }, condition: "node != null && node.status.conditions.exists(c, c.type == 'Ready' && c.status != 'True')" } },
  { CrashLooping: { resource: 'Pod', condition: "object.status.containerStatuses.exists(c, has(c.state.waiting) && c.state.waiting.reason == 'CrashLoopBackOff')" } },
  { ImagePull: { resource: 'Pod', condition: "object.status.containerStatuses.exists(c, has(c.state.waiting) && c.state.waiting.reason in ['ImagePullBackOff', 'ErrImagePull'])" } },
  { OOMKilled: { resource: 'Pod', condition: "object.status.containerStatuses.exists(c, has(c.lastState) && has(c.lastState.terminated) && c.lastState.terminated.reason == 'OOMKilled')" } },
  { EmptyNode: { resource: 'Pod', filter: "object.status.phase == 'Running'", condition: "!has(object.spec.nodeName) || object.spec.nodeName == ''" } },
  { Unavailable: { resource: 'Deployment', condition: 'object.status.availableReplicas < object.spec.replicas' } },
  { Unschedulable: { resource: 'Node', checkField: [{ field: ['spec', 'unschedulable'], equalValue: ['true'] }] } },
  { ContainerNotReady: { resource: 'Pod', filterField: [{ field: ['status', 'phase'], equalValue: ['Running'] }], checkField: [{ field: ['status', 'containerStatuses'], equalValue: ['false'], subIdentifierName: 'name', subIdentifierValue: ['app', 'sidecar'], subField: ['ready'] }] } },
  { Counted: { resource: 'Pod', condition: "size(object.status.containerStatuses.filter(c, c.ready)) >= 1 && object.status.containerStatuses.map(c, c.name).exists_one(n, n.startsWith('side'))" } },
];

describe('compiled CEL agrees with the @bufbuild/cel interpreter', () => {
  it('on every known rule, for random objects and references', () => {
    const programs = KNOWN_RULES.flatMap(programsOf);
    expect(programs.every((p) => p.path === 'compiled')).toBe(true);
    fc.assert(
      fc.property(fc.oneof(podish, json), fc.oneof(fc.constant(null), podish, json), (object, node) => {
        for (const p of programs) agree(p, input(object, { node }));
      }),
      { numRuns: 400 },
    );
  });

  it('on random DSL rules', () => {
    const paths = fc.constantFrom<string[]>(['status', 'phase'], ['metadata', 'labels', 'sae.component'], ['metadata', 'deletionTimestamp'], ['spec', 'nodeName'], ['status', 'x', 'y'], ['metadata', 'labels', 'constructor'], ['spec', 'replicas']);
    const values = fc.array(fc.constantFrom(...STRINGS), { minLength: 1, maxLength: 3 });
    const scalar: fc.Arbitrary<FieldMatch> = fc.oneof(
      fc.record({ field: paths, equalValue: values }),
      fc.record({ field: paths, notEqualValue: values }),
      fc.record({ field: paths, nilValue: fc.boolean() }),
    );
    const picked: fc.Arbitrary<FieldMatch> = fc.record({
      field: fc.constantFrom<string[]>(['status', 'containerStatuses'], ['status', 'conditions']),
      subIdentifierName: fc.constantFrom('name', 'type'),
      subIdentifierValue: values,
      subField: fc.constantFrom<string[]>(['ready'], ['status'], ['state', 'waiting', 'reason']),
      equalValue: values,
    });
    const rule = fc.record({ filterField: fc.array(scalar, { maxLength: 2 }), checkField: fc.array(fc.oneof(scalar, picked), { minLength: 1, maxLength: 2 }) });
    fc.assert(
      fc.property(rule, fc.array(fc.oneof(podish, json), { minLength: 1, maxLength: 6 }), (body, objects) => {
        let programs: Program[];
        try {
          programs = programsOf({ Random: { resource: 'Pod', ...body } });
        } catch {
          // A combination the schema refuses (a list compared as a scalar) is not a rule.
          return;
        }
        for (const p of programs) {
          expect(p.path).toBe('compiled');
          for (const o of objects) agree(p, input(o));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('on random expressions, including ones that do not type-check', () => {
    const env = ruleEnv();
    const field = fc.constantFrom(...KEYS.filter((k) => /^[a-z]+$/i.test(k)));
    // Paths Pod-like objects have (so that values are reached), then random steps (so that they often are not).
    const known = fc.constantFrom('', '.status', '.status.phase', '.status.containerStatuses', '.status.containerStatuses[0]', '.status.containerStatuses[0].ready', '.status.availableReplicas', '.metadata.labels', '.metadata.deletionTimestamp', '.spec.nodeName', '.spec.replicas');
    const path = (root: string): fc.Arbitrary<string> =>
      fc
        .tuple(root === 'object' ? known : fc.constant(''), fc.array(fc.oneof(field.map((f) => `.${f}`), fc.constantFrom('["sae.component"]', '[0]', '[1]', '["constructor"]', '.name', '.ready', '.restartCount')), { maxLength: 2 }))
        .map(([k, steps]) => root + k + steps.join(''));
    const literal = fc.oneof(fc.constantFrom('null', 'true', 'false', '0', '1', '3', '-2', '2.5', '1e300', '9223372036854775807', '1.5', '0.5', '3.0', '-2.5', '"Running"', '"1"', '""', '"true"', '[]', '[1, 2.0, "a"]', '["app", "sidecar"]'));
    const expr = fc.letrec<{ v: string; b: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        { arbitrary: path('object'), weight: 4 },
        { arbitrary: literal, weight: 4 },
        tie('v').map((x) => `size(${x})`),
        tie('v').map((x) => `${x}.size()`),
        fc.tuple(fc.constantFrom('string', 'int', 'double', 'text', 'bool', 'dyn'), tie('v')).map(([f, x]) => `${f}(${x})`),
        tie('v').map((x) => `-(${x})`),
        fc.tuple(tie('v'), fc.constantFrom('+', '-', '*', '/', '%'), tie('v')).map(([a, op, b]) => `(${a} ${op} ${b})`),
        fc.tuple(tie('b'), tie('v'), tie('v')).map(([c, a, b]) => `(${c} ? ${a} : ${b})`),
        fc.tuple(path('object'), tie('b')).map(([l, p]) => `${l}.filter(e, ${p.replaceAll('object', 'e')})`),
        fc.tuple(path('object'), tie('v')).map(([l, v]) => `${l}.map(e, ${v.replaceAll('object', 'e')})`),
        path('e').map((p) => `object.status.containerStatuses.map(e, ${p})`),
        fc.tuple(tie('v'), tie('v')).map(([a, b]) => `[${a}, ${b}]`),
      ),
      b: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(path('object'), fc.oneof(field, fc.constantFrom('phase', 'labels', 'nodeName', 'ready', 'deletionTimestamp'))).map(([p, f]) => `has(${p}.${f})`),
        { arbitrary: fc.tuple(tie('v'), fc.constantFrom('==', '!=', '<', '<=', '>', '>=', 'in'), tie('v')).map(([a, op, b]) => `(${a} ${op} ${b})`), weight: 6 },
        fc.tuple(tie('b'), fc.constantFrom('&&', '||'), tie('b')).map(([a, op, b]) => `(${a} ${op} ${b})`),
        tie('b').map((x) => `!(${x})`),
        tie('v'),
        fc.tuple(path('object'), fc.constantFrom('exists', 'all', 'exists_one'), tie('b')).map(([l, m, p]) => `${l}.${m}(e, ${p.replaceAll('object', 'e')})`),
        fc.tuple(tie('v'), fc.constantFrom('startsWith', 'endsWith', 'contains', 'matches'), fc.oneof(tie('v'), fc.constantFrom('"R"', '"^[a-z]+$"', '"("'))).map(([s, m, a]) => `${s}.${m}(${a})`),
      ),
    }));
    fc.assert(
      fc.property(expr.b, fc.array(fc.oneof(podish, json), { minLength: 1, maxLength: 5 }), (src, objects) => {
        let parsed: ReturnType<typeof parse>;
        try {
          parsed = parse(src);
        } catch {
          return;
        }
        const p = program(env, src, parsed);
        expect(p.path, p.fallback).toBe('compiled');
        for (const o of objects) agree(p, input(o));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the compiled subset', () => {
  const src = (s: string): Program => program(ruleEnv(), s, parse(s));
  const on = (s: string, object: unknown): unknown => src(s).eval(input(object));

  it('treats a missing field as an error that && and || absorb as CEL does', () => {
    expect(on('object.status.phase == "Running"', {})).toBe(CEL_ERROR);
    expect(on('object.status.phase == "Running" && false', {})).toBe(false);
    expect(on('false && object.status.phase == "Running"', {})).toBe(false);
    expect(on('object.status.phase == "Running" || true', {})).toBe(true);
    expect(on('object.status.phase == "Running" && true', {})).toBe(CEL_ERROR);
    expect(on('has(object.status)', { status: null })).toBe(false);
    expect(on('object.status == null', { status: null })).toBe(true);
    expect(on('has(object.constructor)', {})).toBe(false);
    expect(on('object.toString', {})).toBe(CEL_ERROR);
  });

  it('compares numbers across int and double, and nothing else across types', () => {
    expect(on('object.n == 3', { n: 3 })).toBe(true);
    expect(on('object.n < 4', { n: 3.5 })).toBe(true);
    expect(on('object.n == "3"', { n: 3 })).toBe(false);
    expect(on('object.n < "4"', { n: 3 })).toBe(CEL_ERROR);
    expect(on('object.l.exists_one(x, x == 1)', { l: [1, 1.0, 2] })).toBe(false);
  });

  it('takes field names and literals from the rule as data, never as code', () => {
    const key = 'x"]; throw new Error("injected"); //';
    const p = src(`object.metadata.labels[${JSON.stringify(key)}] == "a\\"b" && object.metadata.labels.exists(k, k.startsWith("x\\""))`);
    expect(p.path).toBe('compiled');
    expect(p.eval(input({ metadata: { labels: { [key]: 'a"b' } } }))).toBe(true);
    // The missing label is an error; the false `exists` beside it absorbs it.
    expect(p.eval(input({ metadata: { labels: {} } }))).toBe(false);
    expect(p.eval(input({ metadata: { labels: { 'x"': 'other' } } }))).toBe(CEL_ERROR);
  });

  it('matches with RE2 syntax as the interpreter does, and an invalid pattern is an error', () => {
    expect(on('object.image.matches("^registry/[a-z]+:[0-9]+$")', { image: 'registry/app:1' })).toBe(true);
    expect(on('object.image.matches("^other")', { image: 'registry/app:1' })).toBe(false);
    expect(on('object.image.matches("(")', { image: 'x' })).toBe(CEL_ERROR);
    expect(on('object.image.matches("^a")', { image: 3 })).toBe(CEL_ERROR);
  });

  it('leaves what it does not cover to the interpreter, and says why', () => {
    const p = src("now - timestamp(object.metadata.creationTimestamp) > duration('3600s')");
    expect(p.path).toBe('interpreted');
    expect(p.fallback).toMatch(/now/);
    expect(p.eval(input({ metadata: { creationTimestamp: '2020-01-01T00:00:00Z' } }))).toBe(true);
    expect(src('{"a": 1}.a == 1').path).toBe('interpreted');
    expect(src('object.l[object.i] == 1').path).toBe('interpreted');
    const rule = compileRule(parseRuleDocument({ Old: { resource: 'Pod', condition: "object.status.phase == 'Pending' && now - timestamp(object.metadata.creationTimestamp) > duration('3600s')" } })[0] as RuleSource);
    expect(rule.interpreted).toEqual([{ path: 'Old.condition', reason: 'reads now (a timestamp)' }]);
    const seed = compileRule(parseRuleDocument(seedRule('PodSidecarNotReady'))[0] as RuleSource);
    expect(seed.interpreted).toEqual([]);
  });
});
