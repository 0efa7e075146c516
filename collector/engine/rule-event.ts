import { createHash } from 'node:crypto';
import { formatDuration } from '../../src/units.ts';
import type { EventSpec } from '../events/event-lifecycle.ts';
import type { KubeObject } from './kube/object-event.ts';
import type { CompiledRule, EvidencePath } from './rules/compile-rule.ts';

type EvidenceItem = EventSpec['evidence'][number];

/** `PodSidecarNotReady` → `rule.pod-sidecar-not-ready` (the CloudEvents type is `io.podpulse.` + this). */
export function ruleEventType(rule: string): string {
  const kebab = rule
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
  return `rule.${kebab || 'unnamed'}`;
}

function at(v: unknown, path: readonly string[]): unknown {
  let x = v;
  for (const seg of path) x = x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>)[seg] : undefined;
  return x;
}

const scalar = (v: unknown): string | number | boolean | null => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  const s = JSON.stringify(v);
  return s.length > 1024 ? `${s.slice(0, 1023)}…` : s;
};

/** The Kubernetes field values behind a verdict: what the condition read, as they stand on the object. */
export function ruleEvidence(rule: CompiledRule, subject: string, object: KubeObject, refs: Readonly<Record<string, KubeObject | null>>): EvidenceItem[] {
  const out: EvidenceItem[] = [];
  const one = (e: EvidencePath): void => {
    const base = e.root === 'object' ? object : refs[e.root];
    const who = e.root === 'object' ? subject : `${e.root} ${refSubject(rule, e.root, base)}`;
    if (base === null || base === undefined) {
      out.push({ kind: 'kubernetes', subject: who, field: e.root, value: null });
      return;
    }
    const v = at(base, e.path);
    if (!e.pick) {
      out.push({ kind: 'kubernetes', subject: who, field: e.path.join('.'), value: scalar(v) });
      return;
    }
    const { name, values, subField } = e.pick;
    for (const el of Array.isArray(v) ? v : []) {
      const id = at(el, [name]);
      if (id === undefined || id === null || !values.includes(typeof id === 'string' ? id : JSON.stringify(id))) continue;
      out.push({ kind: 'kubernetes', subject: who, field: `${e.path.join('.')}[${name}=${typeof id === 'string' ? id : JSON.stringify(id)}].${subField.join('.')}`, value: scalar(at(el, subField)) });
    }
  };
  for (const e of rule.evidence) {
    one(e);
    if (out.length >= 50) break;
  }
  return out;
}

function refSubject(rule: CompiledRule, root: string, obj: KubeObject | null | undefined): string {
  const kind = rule.references.find((r) => r.name === root)?.kind.resource.kind ?? root;
  const name = obj ? at(obj, ['metadata', 'name']) : undefined;
  return `${kind}/${typeof name === 'string' ? name : '?'}`;
}

const textOf = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** Fills `{{object.status.phase}}`, `{{node.metadata.name}}`, `{{key}}`, `{{rule}}`, `{{kind}}`, `{{name}}`, `{{namespace}}`, `{{duration}}`. */
export function renderSummary(rule: CompiledRule, key: string, object: KubeObject, refs: Readonly<Record<string, KubeObject | null>>): string {
  const words: Record<string, string> = {
    rule: rule.name,
    key,
    kind: rule.resource.kind,
    name: textOf(at(object, ['metadata', 'name'])),
    namespace: textOf(at(object, ['metadata', 'namespace'])),
    duration: formatDuration(rule.durationMs),
  };
  const out = rule.summary.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g, (_m, root: string, rest: string) => {
    const path = rest.split('.').filter(Boolean);
    if (path.length === 0 && root in words) return words[root]!;
    const base = root === 'object' ? object : refs[root];
    const v = base ? at(base, path) : undefined;
    return v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  });
  return out.length > 0 ? out : rule.name;
}

/** One occurrence of a problem keeps one row: its id is stable from firing to resolved. */
export function occurrenceId(fingerprint: string, firedAt: number): string {
  return createHash('sha256').update(`${fingerprint}:${firedAt}`).digest('hex').slice(0, 32);
}
