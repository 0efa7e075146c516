import type { KubeObject, Projection } from './object-event.ts';

type Obj = Record<string, unknown>;

function metadataOf(obj: KubeObject): Obj {
  const m = obj.metadata;
  return typeof m === 'object' && m !== null ? (m as Obj) : {};
}

/** The identity every projected object keeps, whatever the rules read. */
export function identityOf(obj: KubeObject): Obj {
  const m = metadataOf(obj);
  const out: Obj = { name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.deletionTimestamp !== undefined) out.deletionTimestamp = m.deletionTimestamp;
  return out;
}

/** Keeps only the identity: what a reflector delivers when no rule reads this kind's fields. */
export const identityProjection: Projection = (obj) => ({ metadata: identityOf(obj) });

/** Wraps a rules' projection so that its result always carries the identity fields the contract promises. */
export function withIdentity(projection: Projection | undefined): Projection {
  if (!projection) return identityProjection;
  return (obj) => {
    const p = projection(obj);
    return { ...p, metadata: { ...metadataOf(p), ...identityOf(obj) } };
  };
}

/**
 * A projection keeping the given field paths (e.g. `['status','phase']`, `['metadata','labels']`), for callers
 * that know the paths but have no compiled rules.
 */
export function pathProjection(paths: readonly (readonly string[])[]): Projection {
  return (obj) => {
    const out: Obj = {};
    for (const path of paths) {
      let src: unknown = obj;
      for (const p of path) src = typeof src === 'object' && src !== null ? (src as Obj)[p] : undefined;
      if (src === undefined) continue;
      let dst = out;
      path.forEach((p, i) => {
        if (i === path.length - 1) dst[p] = src;
        else dst = (dst[p] ??= {}) as Obj;
      });
    }
    return out;
  };
}
