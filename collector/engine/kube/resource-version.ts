const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Orders two resourceVersions when both are canonical decimals (KEP-5504 makes that a guarantee; etcd-backed
 * servers have always produced them). Returns undefined when they cannot be compared; the caller then falls back
 * to arrival order, which is all the API promised before.
 */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  if (a === b) return 0;
  if (!DECIMAL.test(a) || !DECIMAL.test(b)) return undefined;
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}
