/** One difference between two JSON values: `path` in the `checks[dns-db].timeout` form. */
export interface DiffEntry {
  path: string;
  op: 'add' | 'remove' | 'change';
  before?: unknown;
  after?: unknown;
}

/**
 * A structural diff of two JSON values. Arrays whose elements all carry an `id` (checks) or a `name` (command
 * templates) are compared by that key, so reordering or editing one check shows as that check, not as a shifted list.
 */
export function diffJson(before: unknown, after: unknown, path = ''): DiffEntry[] {
  if (deepEqual(before, after)) return [];
  if (before === undefined) return [{ path, op: 'add', after }];
  if (after === undefined) return [{ path, op: 'remove', before }];
  if (Array.isArray(before) && Array.isArray(after)) {
    const key = keyOf(before, after);
    if (key) {
      const a = new Map(before.map((x) => [String((x as Record<string, unknown>)[key]), x]));
      const b = new Map(after.map((x) => [String((x as Record<string, unknown>)[key]), x]));
      const out: DiffEntry[] = [];
      for (const [k, v] of a) out.push(...diffJson(v, b.get(k), `${path}[${k}]`));
      for (const [k, v] of b) if (!a.has(k)) out.push({ path: `${path}[${k}]`, op: 'add', after: v });
      return out;
    }
    return [{ path, op: 'change', before, after }];
  }
  if (isObject(before) && isObject(after)) {
    const out: DiffEntry[] = [];
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) out.push(...diffJson(before[k], after[k], path ? `${path}.${k}` : k));
    return out;
  }
  return [{ path, op: 'change', before, after }];
}

function keyOf(a: unknown[], b: unknown[]): 'id' | 'name' | undefined {
  const all = [...a, ...b];
  if (all.length === 0) return undefined;
  for (const key of ['id', 'name'] as const) if (all.every((x) => isObject(x) && typeof x[key] === 'string')) return key;
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}
