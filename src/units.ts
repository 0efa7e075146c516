/** Durations are written as in Go and Kubernetes: `500ms`, `10s`, `5m`, `1h30m`. One parser for all of podpulse. */
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text.length > 32 || !DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(DURATION_PART)) total += Number(n) * UNIT_MS[unit!]!;
  return Math.round(total);
}

/** Like parseDuration for values already validated by a schema; throws on a bad value (a programming error). */
export function ms(text: string): number {
  const v = parseDuration(text);
  if (v === undefined) throw new TypeError(`not a duration: ${JSON.stringify(text)}`);
  return v;
}

/** Renders milliseconds as the shortest duration string (`90000` → `1m30s`). */
export function formatDuration(total: number): string {
  if (total === 0) return '0s';
  let rest = Math.round(total);
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

const BYTES = /^(\d+(?:\.\d+)?)\s*(B|Ki|Mi|Gi|Ti|K|M|G|T|KB|MB|GB|TB)?$/;
const BYTE_UNITS: Record<string, number> = {
  B: 1, K: 1e3, KB: 1e3, M: 1e6, MB: 1e6, G: 1e9, GB: 1e9, T: 1e12, TB: 1e12,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
};

/** Bytes in a size written as a number or as Kubernetes quantities (`64Mi`, `1G`), or undefined. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = BYTES.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * BYTE_UNITS[m[2] ?? 'B']!;
  return Number.isFinite(n) ? Math.floor(n) : undefined;
}
