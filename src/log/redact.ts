type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !(v instanceof Error) && !Buffer.isBuffer(v);

/**
 * A function that returns `obj` with the values at the given paths replaced by `censor`, the way pino's redact
 * option reads them: dot-separated keys from the top of the logged object, `*` standing for any one key. Only
 * objects on a matched path are copied; the caller's objects are never changed, and an object without a match is
 * returned as it is.
 */
export function redactor(paths: readonly string[], censor: string): <T extends Obj>(obj: T) => T {
  const patterns = paths.map((p) => p.split('.'));
  const walk = (node: Obj, live: string[][]): Obj => {
    let out: Obj | undefined;
    for (const key of Object.keys(node)) {
      const here = live.filter((p) => p[0] === key || p[0] === '*');
      if (here.length === 0) continue;
      const value = node[key];
      let next: unknown = value;
      if (here.some((p) => p.length === 1)) next = censor;
      else if (isObj(value)) next = walk(value, here.map((p) => p.slice(1)));
      if (next !== value) {
        out ??= Array.isArray(node) ? ([...node] as unknown as Obj) : { ...node };
        out[key] = next;
      }
    }
    return out ?? node;
  };
  return <T extends Obj>(obj: T): T => walk(obj, patterns) as T;
}
