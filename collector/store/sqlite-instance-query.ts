import { decodeCursor } from './rows.ts';
import type { InstanceQuery } from './store.ts';

/**
 * The SQL of one `listInstances` page on SQLite; its last parameter, the row limit (page size + 1), is left to the
 * caller, so the text depends only on which filters are set and statements can be cached by it.
 *
 * The access path is chosen here, not left to the planner: pages come in pod_uid order, so the only cheap paths are
 * those that yield rows already in that order and stop at the page's end — an index whose leading columns are all
 * filtered by equality ((namespace, app, pod_uid), (app, pod_uid)), else the primary key itself. Left to choose,
 * SQLite takes (namespace, app, pod_uid) for a namespace filter and sorts every instance of the namespace (tens of
 * ms at 10,000); NOT INDEXED does not stop it on a WITHOUT ROWID table. A filter the chosen path does not cover is
 * written `+col = ?`, which keeps it a plain row filter.
 */
export function instancePageQuery(q: InstanceQuery): { sql: string; args: (string | number)[] } {
  const index = q.app === undefined ? undefined : q.namespace === undefined ? 'instances_app' : 'instances_ns_app';
  const indexed: readonly string[] = index === 'instances_ns_app' ? ['namespace', 'app'] : index === 'instances_app' ? ['app'] : [];
  const where: string[] = [];
  const args: (string | number)[] = [];
  for (const [col, v] of [['namespace', q.namespace], ['app', q.app], ['tenant', q.tenant], ['node', q.node], ['status', q.status]] as const) {
    if (v === undefined) continue;
    where.push(indexed.includes(col) ? `${col} = ?` : `+${col} = ?`);
    args.push(v);
  }
  if (q.cursor !== undefined) {
    where.push('pod_uid > ?');
    args.push(decodeCursor(q.cursor, ['string'])[0]!);
  }
  const from = index === undefined ? 'instances' : `instances INDEXED BY ${index}`;
  return { sql: `SELECT * FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY pod_uid LIMIT ?`, args };
}
