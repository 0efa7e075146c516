import { z } from 'zod';
import { ValidationError, type Violation } from '../../../src/errors.ts';
import { parseWith } from '../../../src/protocol/parse.ts';

const text = (max: number) => z.string().min(1).max(max);
const path = z.array(text(253)).min(1).max(32);
const values = z.array(z.string().max(1024)).min(1).max(256);

/**
 * One entry of `filterField` / `checkField`, exactly as the original DSL writes it: a `field` path and one test
 * (`equalValue`, `notEqualValue` or `nilValue`), optionally applied to the elements of a list picked by
 * `subIdentifierName` ∈ `subIdentifierValue`, at their `subField`.
 */
export const FieldMatch = z
  .strictObject({
    field: path,
    equalValue: values.optional(),
    notEqualValue: values.optional(),
    nilValue: z.boolean().optional(),
    subIdentifierName: text(253).optional(),
    subIdentifierValue: values.optional(),
    subField: path.optional(),
  })
  .superRefine((m, ctx) => {
    const tests = (['equalValue', 'notEqualValue', 'nilValue'] as const).filter((k) => m[k] !== undefined);
    if (tests.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: `give exactly one of equalValue, notEqualValue, nilValue (got ${tests.length === 0 ? 'none' : tests.join(', ')})` });
    const sub = (['subIdentifierName', 'subIdentifierValue', 'subField'] as const).filter((k) => m[k] !== undefined);
    if (sub.length !== 0 && sub.length !== 3) {
      const missing = (['subIdentifierName', 'subIdentifierValue', 'subField'] as const).find((k) => m[k] === undefined)!;
      ctx.addIssue({ code: 'custom', path: [missing], message: 'subIdentifierName, subIdentifierValue and subField go together' });
    }
  });
export type FieldMatch = z.output<typeof FieldMatch>;

const identifier = z.string().regex(/^[a-z][A-Za-z0-9_]{0,62}$/, 'must be a lowercase-initial identifier (letters, digits, _)');

/** Another object the rule reads: the one of kind `resource` whose name the CEL `key` computes from `object`. */
export const Reference = z.strictObject({
  resource: text(63),
  /** CEL over `object`, giving the referenced object's name (same namespace when the kind is namespaced). */
  key: text(4096),
});

/**
 * A diagnosis rule. The original DSL fields (`resource`, `duration`, `filterField`, `checkField`) are accepted as the
 * DSL writes them; `filter`/`condition` are CEL over `object` (and each reference by its name, null when the
 * referenced object does not exist, and `now`). Both forms may be combined: every part must hold.
 */
export const RuleBody = z
  .strictObject({
    resource: text(63),
    /** Seconds the condition must hold before the event fires. */
    duration: z.number().min(0).max(30 * 86_400).default(0),
    filterField: z.array(FieldMatch).max(64).optional(),
    checkField: z.array(FieldMatch).max(64).optional(),
    filter: text(4096).optional(),
    condition: text(4096).optional(),
    references: z.record(identifier, Reference).optional(),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    labels: z.record(z.string().regex(/^[A-Za-z0-9_.\-/]{1,63}$/, 'must be 1-63 of letters, digits, _ . - /'), z.string().max(256)).default({}),
    /** `{{object.metadata.name}}`-style template over the same variables as the CEL; default names rule and object. */
    summary: text(1024).optional(),
    /** Seconds between re-evaluations of the objects the rule tracks, for conditions on outside state (`now`, references). */
    recheckInterval: z.number().min(1).max(86_400).optional(),
    description: z.string().max(4096).optional(),
  })
  .superRefine((r, ctx) => {
    if (!r.checkField?.length && r.condition === undefined) ctx.addIssue({ code: 'custom', path: ['checkField'], message: 'a rule needs checkField or condition: what makes the object abnormal' });
    for (const name of Object.keys(r.references ?? {})) {
      if (RESERVED.has(name)) ctx.addIssue({ code: 'custom', path: ['references', name], message: `"${name}" is reserved; name the reference otherwise` });
    }
  });
export type RuleBody = z.output<typeof RuleBody>;

const RESERVED = new Set(['object', 'now', 'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

export const RULE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

export interface RuleSource {
  name: string;
  body: RuleBody;
}

const bad = (path: string, message: string): ValidationError => new ValidationError('PODPULSE_ERR_RULE_INVALID', 'invalid rule', [{ path, message }]);

/** Validates one rule body; violations are located under the rule's name (`PodSidecarNotReady.checkField[0].subField`). */
export function parseRuleBody(name: string, data: unknown): RuleSource {
  if (!RULE_NAME.test(name)) throw bad(name, 'a rule name is 1-63 letters, digits, _ or -, starting with a letter');
  const r = parseWith(RuleBody, data, { what: `rule ${name}`, code: 'PODPULSE_ERR_RULE_INVALID' });
  if (!r.ok) {
    const violations: Violation[] = r.error.violations.map((v) => ({ path: v.path ? `${name}.${v.path}`.replace('.[', '[') : name, message: v.message }));
    throw new ValidationError('PODPULSE_ERR_RULE_INVALID', 'invalid rule', violations);
  }
  return { name, body: r.value };
}

/**
 * Reads a rule document: the DSL's own `{ "RuleName": { ... } }` wrapper (one or more rules), or, with `name`
 * given (the API path), either that wrapper holding exactly that name or the bare body.
 */
export function parseRuleDocument(data: unknown, name?: string): RuleSource[] {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw bad(name ?? '', 'a rule document is a JSON object');
  const obj = data as Record<string, unknown>;
  if (name !== undefined && 'resource' in obj) return [parseRuleBody(name, obj)];
  const names = Object.keys(obj);
  if (names.length === 0) throw bad(name ?? '', 'the document holds no rule');
  if (name !== undefined && (names.length !== 1 || names[0] !== name)) {
    throw bad(name, `the document must hold the rule ${JSON.stringify(name)} only (as { "${name}": {...} } or its bare body), got ${names.map((n) => JSON.stringify(n)).join(', ')}`);
  }
  return names.map((n) => parseRuleBody(n, obj[n]));
}
