import type { KubeObject, Projection } from '../kube/object-event.ts';

/** What every projection keeps, whatever the rules read: identity, version, and whether deletion has begun. */
export const ALWAYS_KEPT: readonly string[][] = [
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'uid'],
  ['metadata', 'resourceVersion'],
  ['metadata', 'deletionTimestamp'],
];

interface Node {
  whole: boolean;
  children: Map<string, Node>;
}

const node = (): Node => ({ whole: false, children: new Map() });

/**
 * A trie of the paths to keep. A path keeps its whole subtree; `*` steps into every element of a list; a trailing
 * `#` keeps the step without its contents (presence only: `has()`, a null test, a list whose elements are projected).
 */
function trie(paths: Iterable<readonly string[]>): Node {
  const root = node();
  for (const p of paths) {
    let n = root;
    if (n.whole) continue;
    let cut = false;
    for (const seg of p) {
      if (seg === '#') break;
      let c = n.children.get(seg);
      if (!c) n.children.set(seg, (c = node()));
      n = c;
      if (n.whole) {
        cut = true;
        break;
      }
    }
    if (!cut && p[p.length - 1] !== '#') {
      n.whole = true;
      n.children.clear();
    }
  }
  return root;
}

/**
 * Generates the projection for a trie: one function per node, each reading only its kept keys (a projection runs on
 * every watched object, before anything else). Keys reach the code through a constants array, never as source.
 * Semantics: a scalar or null is kept as is; a list keeps its projected elements (none without `*`); an object keeps
 * its kept keys that it has as own properties; a whole node keeps the value untouched.
 */
function compileProjection(root: Node): (v: unknown) => unknown {
  if (root.whole) return (v) => v;
  const keys: string[] = [];
  const fns: string[] = [];
  const key = (k: string): string => {
    keys.push(k);
    return `K[${keys.length - 1}]`;
  };
  const gen = (n: Node): string => {
    const name = `p${fns.length}`;
    fns.push('');
    const lines = [`function ${name}(v) {`, `if (v === null || typeof v !== 'object') return v;`];
    const el = n.children.get('*');
    lines.push(`if (Array.isArray(v)) return ${el ? (el.whole ? 'v.slice()' : `v.map((x) => ${gen(el)}(x))`) : '[]'};`);
    lines.push('const out = {};', 'let x;');
    for (const [k, c] of n.children) {
      if (k === '*') continue;
      const kk = key(k);
      const value = c.whole ? 'x' : `${gen(c)}(x)`;
      if (k in Object.prototype) {
        // Inherited names (`constructor`, `__proto__`) count only as own keys, and are written as plain keys.
        lines.push(`if (Object.hasOwn(v, ${kk}) && (x = v[${kk}]) !== undefined) Object.defineProperty(out, ${kk}, { value: ${value}, enumerable: true, writable: true, configurable: true });`);
      } else lines.push(`x = v[${kk}];`, `if (x !== undefined) out[${kk}] = ${value};`);
    }
    lines.push('return out;', '}');
    fns[Number(name.slice(1))] = lines.join('\n');
    return name;
  };
  const entry = gen(root);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the rules' paths; the keys reach it only through K.
  const factory = new Function('K', `${fns.join('\n')}\nreturn ${entry};`) as (k: string[]) => (v: unknown) => unknown;
  return factory(keys);
}

/** The projection for one kind: only the given paths (and ALWAYS_KEPT) survive. */
export function buildProjection(paths: Iterable<readonly string[]>): Projection {
  const project = compileProjection(trie([...ALWAYS_KEPT, ...paths]));
  return (obj: KubeObject) => project(obj) as KubeObject;
}

/** The kept paths as dotted strings, sorted and deduplicated, for the API and logs. */
export function describePaths(paths: Iterable<readonly string[]>): string[] {
  const out = new Set<string>();
  const walk = (n: Node, prefix: string[]): void => {
    if (n.whole) {
      out.add(prefix.join('.'));
      return;
    }
    if (n.children.size === 0 && prefix.length > 0) out.add(`${prefix.join('.')} (presence)`);
    for (const [k, c] of n.children) walk(c, [...prefix, k === '*' ? '[]' : k]);
  };
  walk(trie([...ALWAYS_KEPT, ...paths]), []);
  return [...out].sort();
}
