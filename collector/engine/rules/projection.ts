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

function project(v: unknown, n: Node): unknown {
  if (n.whole || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const el = n.children.get('*');
    return el ? v.map((x) => project(x, el)) : [];
  }
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, c] of n.children) {
    if (k === '*') continue;
    const x = src[k];
    if (x !== undefined) out[k] = project(x, c);
  }
  return out;
}

/** The projection for one kind: only the given paths (and ALWAYS_KEPT) survive. */
export function buildProjection(paths: Iterable<readonly string[]>): Projection {
  const t = trie([...ALWAYS_KEPT, ...paths]);
  return (obj: KubeObject) => project(obj, t) as KubeObject;
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
