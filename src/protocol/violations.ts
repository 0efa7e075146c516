import type * as z from 'zod/mini';
import type { Violation } from '../errors.ts';

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

const FORMAT_NAMES: Record<string, string> = {
  datetime: 'an RFC 3339 timestamp with a time zone (e.g. 2026-01-02T03:04:05Z)',
  uuid: 'a UUID',
  guid: 'a UUID',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  url: 'a URL',
  base64: 'base64 text',
  base64url: 'base64url text',
};

/** A short, bounded rendering of an offending value for messages (never the whole 10 MB string). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function sizeOf(value: unknown): string {
  if (typeof value === 'string' || Array.isArray(value)) return `, got ${value.length}`;
  if (typeof value === 'number') return `, got ${value}`;
  return '';
}

function bound(issue: { origin: string; inclusive?: boolean; exact?: boolean }, n: number | bigint, big: boolean): string {
  const plural = Number(n) === 1 ? '' : 's';
  const unit = issue.origin === 'string' ? ` character${plural}` : issue.origin === 'array' || issue.origin === 'set' ? ` item${plural}` : '';
  if (issue.exact) return `must have exactly ${n}${unit}`;
  if (issue.origin === 'string' || issue.origin === 'array' || issue.origin === 'set') {
    return `${big ? 'must have at most' : 'must have at least'} ${n}${unit}`;
  }
  const word = big ? (issue.inclusive === false ? 'less than' : 'at most') : issue.inclusive === false ? 'greater than' : 'at least';
  return `must be ${word} ${n}`;
}

/**
 * zod error map producing the project's message style: what was expected and what arrived, e.g.
 * `expected one of ok|warn|fail|unknown, got "down"`. Messages set on a schema (refinements) take precedence.
 */
export function errorMap(issue: RawIssue): string {
  const input: unknown = issue.input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = issue.expected === 'int' ? 'integer' : issue.expected;
      if (input === undefined) return `is required (expected ${expected})`;
      return `expected ${expected}, got ${describeValue(input)}`;
    }
    case 'invalid_value':
      if (input === undefined) return `is required (expected ${issue.values.map((v) => (issue.values.length === 1 ? JSON.stringify(v) : String(v))).join('|')})`;
      if (issue.values.length === 1) return `expected ${JSON.stringify(issue.values[0])}, got ${describeValue(input)}`;
      return `expected one of ${issue.values.map(String).join('|')}, got ${describeValue(input)}`;
    case 'too_big':
      return bound(issue, issue.maximum, true) + sizeOf(input);
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1 && !issue.exact) return 'must not be empty';
      return bound(issue, issue.minimum, false) + sizeOf(input);
    case 'invalid_format': {
      const what = issue.format === 'regex' && issue.pattern ? `match ${issue.pattern}` : `be ${FORMAT_NAMES[issue.format] ?? issue.format}`;
      return `must ${what}, got ${describeValue(input)}`;
    }
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}, got ${describeValue(input)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_union':
      if (issue.discriminator) {
        const got = input && typeof input === 'object' ? (input as Record<string, unknown>)[issue.discriminator] : undefined;
        const opts = (issue as { options?: unknown[] }).options;
        return `${issue.discriminator}: expected one of ${(opts ?? []).map(String).join('|')}, got ${describeValue(got)}`;
      }
      return `matches none of the allowed shapes, got ${describeValue(input)}`;
    case 'invalid_key':
      return `invalid key ${describeValue(input)}`;
    case 'invalid_element':
      return `invalid element`;
    case 'custom':
      return issue.message ?? 'is invalid';
    default:
      return 'is invalid';
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/**
 * Renders a zod path as `checks[3].status`. With `byId`, an array element that is an object with a string `id`
 * is shown by that id (`checks[dns-db].timeout`), which is what a person reading a config wants.
 */
export function formatPath(path: readonly PropertyKey[], root?: unknown, byId = false): string {
  let out = '';
  let node: unknown = root;
  for (const seg of path) {
    const child: unknown = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[seg] : undefined;
    if (typeof seg === 'number') {
      const id = byId && child && typeof child === 'object' ? (child as { id?: unknown }).id : undefined;
      out += typeof id === 'string' && id.length > 0 && id.length <= 63 ? `[${id}]` : `[${seg}]`;
    } else {
      const key = String(seg);
      out += IDENT.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
    node = child;
  }
  return out;
}

/** Converts zod issues to violations; an unknown-keys issue becomes one violation per key, located at the key. */
export function toViolations(issues: readonly Issue[], root?: unknown, byId = false): Violation[] {
  const out: Violation[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key], root, byId), message: 'unknown key' });
      continue;
    }
    // A discriminator mismatch is about the discriminator field: point the path at it.
    if (issue.code === 'invalid_union' && issue.discriminator && issue.message.startsWith(`${issue.discriminator}: `)) {
      const atField = issue.path[issue.path.length - 1] === issue.discriminator;
      out.push({
        path: formatPath(atField ? issue.path : [...issue.path, issue.discriminator], root, byId),
        message: issue.message.slice(issue.discriminator.length + 2),
      });
      continue;
    }
    out.push({ path: formatPath(issue.path, root, byId), message: issue.message });
  }
  return out;
}
