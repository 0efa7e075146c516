import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../collector/engine/kube/object-event.ts';
import { ALWAYS_KEPT, buildProjection } from '../../../collector/engine/rules/projection.ts';

const KEYS = ['metadata', 'name', 'labels', 'status', 'phase', 'containerStatuses', 'ready', 'spec', 'constructor', 'a.b'];

/** The projection as specified, walked path by path: the oracle the generated projection must agree with. */
function reference(v: unknown, paths: readonly (readonly string[])[]): unknown {
  const keep = paths.filter((p) => p.length > 0);
  if (paths.some((p) => p.length === 0)) return v;
  if (v === null || typeof v !== 'object') return v;
  const heads = new Map<string, string[][]>();
  for (const p of keep) {
    if (p[0] === '#') continue;
    const rest = p.slice(1);
    // `x#` keeps x without its contents: like a whole path whose subtree is only presence.
    const l = heads.get(p[0]!) ?? [];
    l.push(rest[0] === '#' ? ['#'] : rest);
    heads.set(p[0]!, l);
  }
  const sub = (x: unknown, ps: string[][]): unknown => {
    if (ps.some((p) => p.length === 0)) return x;
    const real = ps.filter((p) => p[0] !== '#');
    if (real.length === 0) {
      // Presence only: containers are kept empty, scalars as they are.
      if (x === null || typeof x !== 'object') return x;
      return Array.isArray(x) ? [] : {};
    }
    return reference(x, real);
  };
  if (Array.isArray(v)) {
    const el = heads.get('*');
    return el ? v.map((x) => sub(x, el)) : [];
  }
  const out: Record<string, unknown> = {};
  for (const [k, ps] of heads) {
    if (k === '*' || !Object.hasOwn(v, k)) continue;
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = sub(x, ps);
  }
  return out;
}

const json: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.constantFrom('Running', ''),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 5 }),
  ),
})).v;

const path = fc.array(fc.constantFrom(...KEYS, '*'), { minLength: 1, maxLength: 4 }).chain((p) => fc.boolean().map((presence) => (presence ? [...p, '#'] : p)));

describe('the generated projection', () => {
  it('keeps exactly the kept paths of any object', () => {
    fc.assert(
      fc.property(fc.array(path, { maxLength: 5 }), json, (paths, obj) => {
        const project = buildProjection(paths);
        expect(project(obj as KubeObject)).toEqual(reference(obj, [...ALWAYS_KEPT, ...paths]));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads inherited names only as own keys', () => {
    const project = buildProjection([['spec', 'constructor'], ['spec', 'toString']]);
    expect(project({ spec: {} })).toEqual({ spec: {} });
    expect(project({ spec: { constructor: 'x' } })).toEqual({ spec: { constructor: 'x' } });
  });
});
