import type * as z from 'zod/mini';
import type { HttpSpec } from '../src/protocol/checks/network-specs.ts';
import { boundedText } from './bounded-text.ts';
import { fail, type Outcome } from './check.ts';

type Spec = z.output<typeof HttpSpec>;

/**
 * Applies the body assertions of an http spec (bodyContains, bodyRegex, json) to the body as read; the first
 * that does not hold is the outcome, undefined when all hold. A cut body (`truncated`) is named in the message.
 */
export function httpBodyAssertion(spec: Spec, body: string, truncated: boolean): Outcome | undefined {
  const cut = truncated ? ` (in the first ${spec.maxBodyBytes} bytes)` : '';
  if (spec.bodyContains !== undefined && !body.includes(spec.bodyContains)) {
    return fail('HTTP_BODY_MISMATCH', `body does not contain ${JSON.stringify(boundedText(spec.bodyContains, 100))}${cut}`);
  }
  if (spec.bodyRegex !== undefined && !new RegExp(spec.bodyRegex).test(body)) {
    return fail('HTTP_BODY_MISMATCH', `body does not match /${boundedText(spec.bodyRegex, 100)}/${cut}`);
  }
  if (spec.json) {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return fail('HTTP_BODY_INVALID', `body is not JSON${cut}: ${boundedText(why, 120)}`);
    }
    const found = lookup(doc, spec.json.path);
    const want = JSON.stringify(spec.json.equals);
    if (!found.present) return fail('HTTP_BODY_MISMATCH', `JSON path ${spec.json.path} not found (expected ${boundedText(want, 100)})`);
    if (found.value !== spec.json.equals) {
      const got = JSON.stringify(found.value) ?? String(found.value);
      return fail('HTTP_BODY_MISMATCH', `JSON path ${spec.json.path} is ${boundedText(got, 100)}, expected ${boundedText(want, 100)}`);
    }
  }
  return undefined;
}

/** Walks a dot path (`status.db`, `items.0.name`) through objects and arrays; own properties only. */
function lookup(doc: unknown, path: string): { present: boolean; value?: unknown } {
  let at: unknown = doc;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return { present: false };
    at = (at as Record<string, unknown>)[key];
  }
  return { present: true, value: at };
}
