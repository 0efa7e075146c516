type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The list fields whose items strategic merge patch merges by a key, as the Kubernetes types declare them. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  conditions: 'type',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
};
/** Lists of primitives with patchStrategy merge: a patch adds to them instead of replacing them. */
const PRIMITIVE_MERGE = new Set(['finalizers']);

/**
 * Strategic merge patch for the cases the engine and its tests use: maps merge, the lists above merge by key,
 * `finalizers` merges as a set, `$deleteFromPrimitiveList/<field>` removes values, `$patch: delete` in a keyed
 * list item removes that item. Other lists are replaced, as with a merge patch.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  const deletions: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      deletions.push([k.slice('$deleteFromPrimitiveList/'.length), Array.isArray(v) ? v : []]);
      continue;
    }
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const mergeKey = MERGE_KEYS[k];
    if (Array.isArray(v) && mergeKey && Array.isArray(out[k])) {
      const items = [...(out[k] as unknown[])];
      for (const item of v) {
        if (!isObj(item)) continue;
        const idx = items.findIndex((x) => isObj(x) && x[mergeKey] === item[mergeKey]);
        if (item.$patch === 'delete') {
          if (idx >= 0) items.splice(idx, 1);
        } else if (idx >= 0) items[idx] = strategicMergePatch(items[idx], item);
        else items.push(strategicMergePatch({}, item));
      }
      out[k] = items;
    } else if (Array.isArray(v) && PRIMITIVE_MERGE.has(k) && Array.isArray(out[k])) {
      const set = [...(out[k] as unknown[])];
      for (const x of v) if (!set.includes(x)) set.push(x);
      out[k] = set;
    } else out[k] = strategicMergePatch(out[k], v);
  }
  for (const [field, values] of deletions) {
    if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !values.includes(x));
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`bad JSON pointer ${path}`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/** RFC 6902 JSON patch: add, remove, replace, test (what client-node sends by default for PATCH). */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new Error('JSON patch must be an array');
  const doc = structuredClone(target) as Obj;
  for (const raw of ops as JsonPatchOp[]) {
    const segs = pointer(raw.path);
    const last = segs.pop();
    let parent: unknown = doc;
    for (const s of segs) {
      parent = Array.isArray(parent) ? parent[Number(s)] : isObj(parent) ? parent[s] : undefined;
      if (parent === undefined) throw new Error(`path ${raw.path} does not exist`);
    }
    if (last === undefined) throw new Error('JSON patch on the root is not supported');
    const arr = Array.isArray(parent) ? (parent as unknown[]) : undefined;
    const obj = isObj(parent) ? parent : undefined;
    const idx = last === '-' ? (arr?.length ?? 0) : Number(last);
    switch (raw.op) {
      case 'add':
        if (arr) arr.splice(idx, 0, raw.value);
        else if (obj) obj[last] = raw.value;
        break;
      case 'replace':
        if (arr) arr[idx] = raw.value;
        else if (obj) {
          if (!(last in obj)) throw new Error(`path ${raw.path} does not exist`);
          obj[last] = raw.value;
        }
        break;
      case 'remove':
        if (arr) arr.splice(idx, 1);
        else if (obj) {
          if (!(last in obj)) throw new Error(`path ${raw.path} does not exist`);
          delete obj[last];
        }
        break;
      case 'test': {
        const cur = arr ? arr[idx] : obj?.[last];
        if (JSON.stringify(cur) !== JSON.stringify(raw.value)) throw new Error(`test failed at ${raw.path}`);
        break;
      }
      default:
        throw new Error(`unsupported JSON patch op ${raw.op}`);
    }
  }
  return doc;
}
