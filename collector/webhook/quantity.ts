const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/**
 * The value of a Kubernetes resource quantity (`250m` → 0.25, `64Mi` → 67108864), or undefined when the text is
 * not a quantity the apiserver would accept. Used to check and compare overrides before they reach a pod spec.
 */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const suffix = m[2];
  const scale = suffix === undefined ? 1 : suffix[0] === 'e' || suffix[0] === 'E' ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix]!;
  const v = Number(m[1]) * scale;
  return Number.isFinite(v) ? v : undefined;
}
