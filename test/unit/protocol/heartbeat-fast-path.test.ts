import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastHeartbeat, fastHeartbeatPayload } from '../../../src/protocol/heartbeat-fast-path.ts';
import { parseHeartbeatPayload } from '../../../src/protocol/parse.ts';
import { CHECK_KINDS } from '../../../src/protocol/checks/check-config.ts';
import { REASON_CODES, REASON_CODE_NAMES } from '../../../src/protocol/codes.ts';

// The fast path may decline anything, but whatever it returns the zod schema must accept and produce identically
// (deep-equal, and the same JSON text, so key order too). Inputs are drawn near the schema's edges: valid values,
// boundary lengths, near-miss formats, wrong types, then mutated further.

const str = (n: number, c = 'a') => c.repeat(n);
const pick = <T,>(...xs: T[]) => fc.constantFrom(...xs);
const json = fc.jsonValue();

/** Mostly valid values, some at or just past an edge of the schema, some any JSON at all. */
const mix = <T,>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 40, arbitrary: valid }, { weight: 2, arbitrary: edge }, { weight: 1, arbitrary: json });

const uuid = mix(fc.uuid(), fc.oneof(fc.uuid().map((u) => u.toUpperCase()), pick('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '6f1c1c1e-0000-0000-8000-000000000000', 'not-a-uuid', '')));
const stamp = mix(
  fc.date({ min: new Date('1970-01-01'), max: new Date('2400-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  pick('2026-01-02T03:04:05Z', '2026-01-02T03:04:05+01:00', '2026-01-02T03:04:05.123456789-12:30', '2024-02-29T00:00:00Z', '2100-02-29T00:00:00Z',
    '2026-02-30T00:00:00Z', '2026-01-02T03:04Z', '2026-01-02t03:04:05z', '2026-01-02T24:00:00Z', '2026-01-02 03:04:05Z', '2026-01-02T03:04:05'),
);
const name = mix(fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/), pick('web-1', 'a', 'a.b-c', 'A', '-a', 'a-', 'a_b', 'a..b', str(63), str(64), str(253), str(254), ''));
const dnsLabel = mix(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/), pick('a', 'a.b', 'A', '-a', str(63), str(64), ''));
const label = mix(fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?$/), fc.oneof(pick('', '_a', 'a-', str(63, 'B'), str(64, 'B')), fc.string({ maxLength: 8 })));
const ident = mix(fc.stringMatching(/^[a-z0-9]([-a-z0-9_.]{0,10}[a-z0-9])?$/), pick('dns-db', 'a', 'a_b.c', 'A', 'a-', str(63), str(64), ''));
const ver = mix(pick('1.0.0', 'v2.3.4-rc.1+b.5'), pick('1.0', 'x1.0.0', `1.0.0-${str(58)}`, `1.0.0-${str(59)}`));
const bounded = (max: number) => mix(fc.string({ maxLength: 12 }), pick('', str(max), str(max + 1)));
const int = (min: number, max: number) => mix(fc.integer({ min, max }), pick(min, max, min - 1, max + 1, 1.5, -0, Number.MAX_SAFE_INTEGER, 2 ** 53));
const num = mix(fc.double({ min: 0, max: 86_400_000, noNaN: true }), fc.oneof(pick(0, -0, 86_400_000, 86_400_001, -1, 1e300), fc.double({ noNaN: true, noDefaultInfinity: true })));
const enumOf = (...values: string[]) => mix(pick(...values), pick('OK', 'ok ', 'Fail', ''));
const ip = mix(fc.ipV4(), fc.oneof(fc.ipV6(), pick('10.1.2.3', '256.1.1.1', '01.2.3.4', '::1', 'fe80::1%eth0', '')));

/** null mostly; a value one time in thirty. */
const rarely = <T,>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 30, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: a });

/** Required keys present (now and then one missing), optional keys present or not, now and then an unknown key. */
function obj(required: Record<string, fc.Arbitrary<unknown>>, optional: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.record(required), fc.record(optional, { requiredKeys: [] }), rarely(fc.constantFrom(...Object.keys(required))), rarely(pick('extra', '__proto__', 'constructor')))
    .map(([req, opt, drop, extra]) => {
      // Optional keys first: the input's key order must not matter to the output's.
      const out: Record<string, unknown> = { ...opt, ...req };
      if (drop !== null) delete out[drop];
      if (extra !== null) Object.defineProperty(out, extra, { value: 1, enumerable: true, writable: true, configurable: true });
      return out;
    });
}

const details = mix(
  fc.dictionary(fc.oneof(pick('k', 'a.b_c-d', 'bad key', '', '__proto__', str(64), str(65)), fc.string({ maxLength: 4 })), fc.oneof(pick<unknown>(null, true, 1.5, str(256), str(257)), json), { maxKeys: 18 }),
  pick({}, []),
);
/** A status and a code the catalogue allows together, or (less often) any pair. */
const outcome = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...REASON_CODE_NAMES).chain((code) => fc.constantFrom(...REASON_CODES[code].statuses).map((status) => ({ status, code }))) },
  { weight: 1, arbitrary: fc.record({ status: enumOf('ok', 'warn', 'fail', 'unknown'), code: enumOf(...REASON_CODE_NAMES) }, { requiredKeys: [] }) },
);
const check = fc
  .tuple(obj({ id: ident, kind: enumOf(...CHECK_KINDS), latencyMs: num }, { at: stamp, message: bounded(1024), details }), outcome)
  .map(([c, o]) => ({ ...c, ...o }));
const okCheck = fc.record({ id: ident, kind: pick(...CHECK_KINDS), latencyMs: fc.double({ min: 0, max: 1000, noNaN: true }) });
// The ok tuple form [id, kind, latencyMs], well-formed or with the wrong length or element types.
const okTuple = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(ident, enumOf(...CHECK_KINDS), num) },
  { weight: 1, arbitrary: fc.array(json, { maxLength: 4 }) },
);
const instance = obj({ podUid: uuid, namespace: dnsLabel, pod: name, app: label }, { node: name, tenant: label, podIp: ip });
const update = obj({ current: ver, status: enumOf('idle', 'installing', 'installed', 'failed', 'rolled-back') }, { desired: ver, error: bounded(512) });
const agent = obj(
  { daemonVersion: ver, workerVersion: ver, configRevision: bounded(128) },
  { breaker: enumOf('closed', 'open', 'half-open'), breakerReason: bounded(256), worker: enumOf('starting', 'running', 'down', 'crashloop', 'updating', 'stopped'), configError: bounded(256), update: fc.oneof({ weight: 10, arbitrary: update }, { weight: 1, arbitrary: json }) },
);
const heartbeatArb = obj(
  {
    apiVersion: mix(pick('podpulse.io/v1'), pick('podpulse.io/v2', 'podpulse.io/v1 ')),
    source: enumOf('worker', 'daemon'),
    instance: fc.oneof({ weight: 30, arbitrary: instance }, { weight: 1, arbitrary: json }),
    agent: fc.oneof({ weight: 30, arbitrary: agent }, { weight: 1, arbitrary: json }),
    bootId: uuid,
    seq: int(0, Number.MAX_SAFE_INTEGER),
    sentAt: stamp,
    intervalMs: int(1000, 3_600_000),
    checks: fc.oneof({ weight: 10, arbitrary: fc.array(fc.oneof(check, okCheck, okTuple), { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(okCheck, { minLength: 127, maxLength: 130 }) }, { weight: 1, arbitrary: json }),
  },
  { dropped: int(0, Number.MAX_SAFE_INTEGER) },
);

/** A heartbeat that the sidecar would send: the shape the fast path exists for. */
const typical = fc.record({
  apiVersion: fc.constant('podpulse.io/v1'),
  source: fc.constant('worker'),
  instance: fc.record({ podUid: fc.uuid(), namespace: pick('bench', 'prod'), pod: fc.stringMatching(/^web-[0-9]{1,4}$/), node: pick('n-1', 'node-12'), app: pick('web', 'api'), tenant: pick('acme', ''), podIp: fc.ipV4() }),
  agent: fc.record({ daemonVersion: pick('1.0.0'), workerVersion: pick('1.0.0'), configRevision: fc.stringMatching(/^[0-9a-f]{16}$/) }),
  bootId: fc.uuid(),
  seq: fc.nat(),
  sentAt: fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  intervalMs: pick(10_000, 30_000),
  checks: fc.uniqueArray(fc.record({ id: fc.stringMatching(/^[a-z]{1,8}$/), kind: pick('dns', 'tcp', 'http'), latencyMs: fc.double({ min: 0, max: 5000, noNaN: true }) }), { selector: (c) => c.id, maxLength: 8 }),
});

/** JSON text in, as the collector sees it: the fast path only ever sees what JSON.parse produced. */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');

function agree(input: unknown): 'fast' | 'zod' {
  const fast = fastHeartbeatPayload(input);
  const slow = parseHeartbeatPayload(input);
  if (fast === undefined) return 'zod';
  if (!slow.ok) throw new Error(`fast path accepted what zod rejects: ${JSON.stringify(slow.error.violations)} for ${JSON.stringify(input).slice(0, 2000)}`);
  expect(isDeepStrictEqual(fast, slow.value)).toBe(true);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(slow.value));
  return 'fast';
}

describe('heartbeat fast path', () => {
  it('accepts only what the zod schema accepts, with the identical value, on random and edge-case heartbeats', () => {
    let fast = 0;
    fc.assert(
      fc.property(heartbeatArb.map(viaJson), (hb) => {
        if (agree(hb) === 'fast') fast++;
      }),
      { numRuns: 10_000 },
    );
    // Not vacuous: a share of the random heartbeats is valid and takes the fast path.
    expect(fast).toBeGreaterThan(50);
  });

  it('agrees with zod on mutated typical heartbeats (a field at any depth replaced, dropped or added)', () => {
    const mutated = fc.tuple(typical, fc.array(fc.constantFrom('instance', 'agent', 'checks', '0', 'update', 'status', 'code', 'message', 'details', 'x'), { maxLength: 3 }), fc.option(json), fc.boolean())
      .map(([hb, path, value, drop]) => {
        const doc = viaJson(hb) as Record<string, unknown>;
        let node: Record<string, unknown> = doc;
        for (const k of path.slice(0, -1)) if (node[k] && typeof node[k] === 'object') node = node[k] as Record<string, unknown>;
        const key = path.at(-1) ?? 'seq';
        if (drop) delete node[key];
        else node[key] = value;
        return viaJson(doc);
      });
    fc.assert(fc.property(mutated, (hb) => void agree(hb)), { numRuns: 5000 });
  });

  it('takes every typical sidecar heartbeat, alone and in batches', () => {
    fc.assert(fc.property(typical.map(viaJson), (hb) => {
      expect(agree(hb)).toBe('fast');
    }), { numRuns: 1000 });
    fc.assert(
      fc.property(fc.array(typical, { minLength: 1, maxLength: 20 }), (hbs) => {
        expect(agree(viaJson({ apiVersion: 'podpulse.io/v1', heartbeats: hbs }))).toBe('fast');
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with zod on batches of random heartbeats', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(heartbeatArb, { maxLength: 4 }), fc.array(typical, { maxLength: 4 })), rarely(json), (hbs, extra) => {
        const batch: Record<string, unknown> = { apiVersion: 'podpulse.io/v1', heartbeats: hbs };
        if (extra !== null) batch.extra = extra;
        agree(viaJson(batch));
      }),
      { numRuns: 2000 },
    );
  });

  it('declines a duplicate check id, an IPv6 address and a details key named __proto__, and zod decides', () => {
    const hb = viaJson(fc.sample(typical, { numRuns: 1, seed: 7 })[0]) as Record<string, unknown>;
    const dup = { ...hb, checks: [{ id: 'a', kind: 'dns', latencyMs: 1 }, { id: 'a', kind: 'tcp', latencyMs: 1 }] };
    expect(fastHeartbeat(dup)).toBeUndefined();
    expect(parseHeartbeatPayload(dup).ok).toBe(false);
    const v6 = { ...hb, instance: { ...(hb.instance as object), podIp: 'fe80::1' } };
    expect(fastHeartbeat(v6)).toBeUndefined();
    expect(parseHeartbeatPayload(v6).ok).toBe(true);
    const proto = JSON.parse('{"id":"a","kind":"dns","status":"fail","code":"DNS_NXDOMAIN","latencyMs":1,"details":{"__proto__":1}}') as unknown;
    expect(fastHeartbeat({ ...hb, checks: [proto] })).toBeUndefined();
  });
});
