import type { Violation } from '../../../src/errors.ts';
import type { Store } from '../../store/store.ts';
import type { CommandTarget, InstanceRef, Selector } from './command-records.ts';

export type Selection = { ok: true; instances: InstanceRef[] } | { ok: false; status: 400 | 404; violations: Violation[] };

const ref = (i: { podUid: string; namespace: string; pod: string; app: string; tenant: string; node: string | null }): InstanceRef => ({
  podUid: i.podUid,
  namespace: i.namespace,
  pod: i.pod,
  app: i.app,
  tenant: i.tenant,
  node: i.node,
});

/**
 * The instances a target names. A selector is matched against the registered instances (retired ones excluded: they
 * will never poll); matching more than its `maxFanOut` refuses the whole request, so a too-broad selector queues
 * nothing rather than an arbitrary first page.
 */
export async function selectInstances(store: Pick<Store, 'getInstance' | 'listInstances'>, target: CommandTarget): Promise<Selection> {
  if ('podUid' in target) {
    const i = await store.getInstance(target.podUid.toLowerCase());
    if (!i) return { ok: false, status: 404, violations: [{ path: 'target.podUid', message: `no instance ${target.podUid} is registered` }] };
    if (i.status === 'retired') return { ok: false, status: 400, violations: [{ path: 'target.podUid', message: `instance ${target.podUid} (${i.namespace}/${i.pod}) is retired` }] };
    return { ok: true, instances: [ref(i)] };
  }
  const { selector, maxFanOut } = target;
  const found: InstanceRef[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listInstances({ ...definedOnly(selector), limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const i of page.items) {
      if (i.status === 'retired') continue;
      found.push(ref(i));
      if (found.length > maxFanOut) {
        return { ok: false, status: 400, violations: [{ path: 'target.selector', message: `matches more than maxFanOut ${maxFanOut} instances; narrow the selector or raise target.maxFanOut` }] };
      }
    }
    cursor = page.nextCursor;
  } while (cursor);
  if (found.length === 0) return { ok: false, status: 400, violations: [{ path: 'target.selector', message: `matches no live instance (${describe(selector)})` }] };
  return { ok: true, instances: found };
}

function definedOnly(s: Selector): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s)) if (typeof v === 'string') out[k] = v;
  return out;
}

function describe(s: Selector): string {
  return Object.entries(s).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`).join(', ');
}
