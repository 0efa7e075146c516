import type { CheckResult } from '../../src/protocol/index.ts';

/**
 * The dependency a failing check points at, and the key that groups instances failing it the same way.
 *
 * Convention: a check that talks to a dependency reports it in `details.target` when it is not ok — the DNS name
 * for `dns` (`mysql.prod.svc`), `host:port` for `tcp`/`tls`, the URL's origin for `http`, the path for
 * `disk`/`mount`/`file`. With a target, the key is `kind|target|code`: the check id is left out because two apps
 * may name their check of the same dependency differently, and they are still one blast radius. Without a
 * target, the key falls back to `kind|#id|code` (instances of one app failing the same configured check).
 */
export interface CheckTarget {
  /** Human-readable target: `details.target`, or the check id when the check gives none. */
  target: string;
  key: string;
}

export function checkTarget(result: Pick<CheckResult, 'id' | 'kind' | 'code' | 'details'>): CheckTarget {
  const t = result.details?.['target'];
  if (typeof t === 'string' && t.length > 0) return { target: t, key: `${result.kind}|${t}|${result.code}` };
  return { target: result.id, key: `${result.kind}|#${result.id}|${result.code}` };
}
