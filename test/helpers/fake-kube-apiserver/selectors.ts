type Obj = Record<string, unknown>;

type Requirement =
  | { op: 'eq' | 'ne'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

/** Splits on commas that are not inside `( )`. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

function parseRequirement(term: string): Requirement {
  let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) return { op: m[2] as 'in' | 'notin', key: m[1]!, values: m[3]!.split(',').map((v) => v.trim()) };
  m = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (m) return { op: m[2] === '!=' ? 'ne' : 'eq', key: m[1]!, value: m[3]! };
  m = /^!([^\s!=]+)$/.exec(term);
  if (m) return { op: 'notexists', key: m[1]! };
  m = /^([^\s!=()]+)$/.exec(term);
  if (m) return { op: 'exists', key: m[1]! };
  throw new Error(`unable to parse requirement: ${term}`);
}

function test(r: Requirement, get: (key: string) => string | undefined): boolean {
  const v = get(r.key);
  switch (r.op) {
    case 'eq':
      return v === r.value;
    case 'ne':
      return v !== r.value;
    case 'in':
      return v !== undefined && r.values.includes(v);
    case 'notin':
      return v === undefined || !r.values.includes(v);
    case 'exists':
      return v !== undefined;
    case 'notexists':
      return v === undefined;
  }
}

/** A compiled label or field selector; `undefined` input selects everything. Throws on bad syntax (→ 400). */
export type Selector = (obj: Obj) => boolean;

export function labelSelector(s: string | null | undefined): Selector | undefined {
  if (!s) return undefined;
  const reqs = splitTerms(s).map(parseRequirement);
  return (obj) => {
    const labels = ((obj.metadata as Obj | undefined)?.labels ?? {}) as Record<string, string>;
    return reqs.every((r) => test(r, (k) => labels[k]));
  };
}

/** Field selectors support `=`, `==` and `!=` on dotted paths, as the apiserver does for the fields it indexes. */
export function fieldSelector(s: string | null | undefined): Selector | undefined {
  if (!s) return undefined;
  const reqs = splitTerms(s).map(parseRequirement);
  for (const r of reqs) if (r.op !== 'eq' && r.op !== 'ne') throw new Error(`field selector supports only =, ==, !=: ${s}`);
  return (obj) =>
    reqs.every((r) =>
      test(r, (path) => {
        let cur: unknown = obj;
        for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Obj)[p] : undefined;
        // The apiserver compares absent fields as the empty string (`spec.nodeName=` selects unscheduled pods).
        if (cur === undefined || cur === null) return '';
        if (typeof cur === 'string') return cur;
        if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
        return JSON.stringify(cur);
      }),
    );
}

export function both(a: Selector | undefined, b: Selector | undefined): Selector | undefined {
  if (!a) return b;
  if (!b) return a;
  return (o) => a(o) && b(o);
}
