import { dnsLabel, labelValue } from '../../../src/protocol/common.ts';

/** The levels a config document can live at, from the broadest; a later level wins when merged. */
export const SCOPE_LEVELS = ['global', 'tenant', 'namespace', 'app', 'instance'] as const;
export type ScopeLevel = (typeof SCOPE_LEVELS)[number];

/**
 * Where a config document applies. Its id (`scopeId`) is also its URL path under `/api/v1/config/scopes/`:
 * `global`, `tenant/<tenant>`, `namespace/<ns>`, `app/<ns>/<app>` (an app is named within its namespace),
 * `instance/<pod uid>`.
 */
export type Scope =
  | { level: 'global' }
  | { level: 'tenant'; tenant: string }
  | { level: 'namespace'; namespace: string }
  | { level: 'app'; namespace: string; app: string }
  | { level: 'instance'; podUid: string };

/** What the merge needs to know about an instance. */
export interface InstanceKey {
  podUid: string;
  namespace: string;
  app: string;
  tenant: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function scopeId(s: Scope): string {
  switch (s.level) {
    case 'global': return 'global';
    case 'tenant': return `tenant/${s.tenant}`;
    case 'namespace': return `namespace/${s.namespace}`;
    case 'app': return `app/${s.namespace}/${s.app}`;
    case 'instance': return `instance/${s.podUid}`;
  }
}

/** Parses a scope id; the error names what is wrong. */
export function parseScope(id: string): { ok: true; scope: Scope } | { ok: false; error: string } {
  const parts = id.split('/');
  const [level, a, b] = parts;
  const bad = (why: string) => ({ ok: false as const, error: `scope "${id.slice(0, 200)}": ${why}` });
  const name = (v: string | undefined, what: string, schema: typeof dnsLabel): string | undefined => {
    if (v === undefined || v === '') return `missing ${what}`;
    const r = schema.safeParse(v);
    return r.success ? undefined : `${what} ${JSON.stringify(v)} ${r.error.issues[0]?.message ?? 'is invalid'}`;
  };
  switch (level) {
    case 'global':
      return parts.length === 1 ? { ok: true, scope: { level: 'global' } } : bad('global takes no name');
    case 'tenant': {
      const e = parts.length === 2 ? name(a, 'tenant', labelValue) : 'expected tenant/<tenant>';
      return e ? bad(e) : { ok: true, scope: { level: 'tenant', tenant: a! } };
    }
    case 'namespace': {
      const e = parts.length === 2 ? name(a, 'namespace', dnsLabel) : 'expected namespace/<namespace>';
      return e ? bad(e) : { ok: true, scope: { level: 'namespace', namespace: a! } };
    }
    case 'app': {
      const e = parts.length === 3 ? name(a, 'namespace', dnsLabel) ?? name(b, 'app', labelValue) : 'expected app/<namespace>/<app>';
      return e ? bad(e) : { ok: true, scope: { level: 'app', namespace: a!, app: b! } };
    }
    case 'instance': {
      const uid = a?.toLowerCase();
      return parts.length === 2 && uid && UUID.test(uid) ? { ok: true, scope: { level: 'instance', podUid: uid } } : bad('expected instance/<pod uid>');
    }
    default:
      return bad(`unknown level "${level ?? ''}" (expected one of ${SCOPE_LEVELS.join(', ')})`);
  }
}

/** The scope ids that apply to an instance, broadest first: the merge order. */
export function chainFor(k: InstanceKey): string[] {
  const chain = ['global'];
  if (k.tenant) chain.push(`tenant/${k.tenant}`);
  chain.push(`namespace/${k.namespace}`, `app/${k.namespace}/${k.app}`, `instance/${k.podUid}`);
  return chain;
}

/** Whether a document at `scope` takes part in `k`'s effective config. */
export function scopeCovers(scope: Scope, k: InstanceKey): boolean {
  switch (scope.level) {
    case 'global': return true;
    case 'tenant': return k.tenant === scope.tenant;
    case 'namespace': return k.namespace === scope.namespace;
    case 'app': return k.namespace === scope.namespace && k.app === scope.app;
    case 'instance': return k.podUid === scope.podUid;
  }
}
