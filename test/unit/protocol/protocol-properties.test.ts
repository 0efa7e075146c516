import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentConfig, Heartbeat, parseHeartbeatPayload, parseWith } from '../../../src/protocol/index.ts';
import { ValidationError } from '../../../src/errors.ts';

const HB: Record<string, unknown> = JSON.parse(readFileSync(new URL("../../fixtures/protocol/heartbeat.json", import.meta.url), "utf8"));

/** A valid heartbeat with one field, at any depth, replaced by an arbitrary JSON value. */
const mutatedHeartbeat = fc
  .tuple(fc.array(fc.oneof(fc.constantFrom('instance', 'agent', 'checks', 'update', 'status', 'code', 'seq', 'sentAt', 'message', 'details', 'podIp', 'x')), { maxLength: 3 }), fc.jsonValue())
  .map(([keys, value]) => {
    const doc = structuredClone<Record<string, unknown>>(HB);
    let node: Record<string, unknown> = doc;
    for (const k of keys) {
      const next = node[k] ?? (Array.isArray(node.checks) ? node.checks[0] : undefined);
      if (next && typeof next === 'object') node = next as Record<string, unknown>;
    }
    node[keys.at(-1) ?? 'seq'] = value;
    return doc;
  });

function assertStructured(input: unknown): void {
  const r = parseHeartbeatPayload(input);
  if (r.ok) {
    // Whatever parsed must be a heartbeat that parses again to itself.
    for (const hb of r.value.heartbeats) expect(Heartbeat.parse(hb)).toEqual(hb);
    return;
  }
  expect(r.error).toBeInstanceOf(ValidationError);
  expect(['PODPULSE_ERR_PROTOCOL', 'PODPULSE_ERR_UNSUPPORTED_PROTOCOL']).toContain(r.error.code);
  expect(r.error.violations.length).toBeGreaterThan(0);
  for (const v of r.error.violations) {
    expect(typeof v.path).toBe('string');
    expect(v.message.length).toBeGreaterThan(0);
    expect(v.message.length).toBeLessThan(2000);
  }
}

describe('protocol properties', () => {
  it('any JSON value either parses to a valid heartbeat or yields a structured error, never throws', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => assertStructured(v)), { numRuns: 2000 });
  });

  it('a valid heartbeat with any field replaced by any JSON value never throws', () => {
    fc.assert(fc.property(mutatedHeartbeat, (v) => assertStructured(v)), { numRuns: 2000 });
  });

  it('batches of mutated heartbeats never throw', () => {
    fc.assert(
      fc.property(fc.array(mutatedHeartbeat, { minLength: 1, maxLength: 5 }), (hbs) => assertStructured({ apiVersion: 'podpulse.io/v1', heartbeats: hbs })),
      { numRuns: 300 },
    );
  });

  it('any JSON value given as an agent config yields a config or a structured error, never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = parseWith(AgentConfig, v, { byId: true });
        if (!r.ok) expect(r.error.violations.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });
});
