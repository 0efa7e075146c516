/** Where a command writes: stdout for results, stderr for progress and errors. Swappable for tests of the renderers. */
export interface Out {
  json: boolean;
  line(text?: string): void;
  /** Progress and hints for people; never mixed into stdout, so `--json` output stays parseable. */
  note(text: string): void;
}

export const stdio = (json: boolean): Out => ({
  json,
  line: (text = '') => process.stdout.write(`${text}\n`),
  note: (text) => process.stderr.write(`${text}\n`),
});

export function printJson(out: Out, value: unknown): void {
  out.line(JSON.stringify(value, null, 2));
}

/** A plain-text table: a header row in capitals and columns padded to their widest cell. */
export function table(out: Out, headers: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const cells = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const fmt = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  out.line(fmt(headers.map((h) => h.toUpperCase())));
  for (const r of cells) out.line(fmt(r));
}

/** `key: value` lines, keys aligned. */
export function fields(out: Out, pairs: readonly (readonly [string, unknown])[]): void {
  const w = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) out.line(`${`${k}:`.padEnd(w + 1)} ${cell(v)}`);
}

function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  return text(v);
}

/** Any JSON value as text: strings as they are, objects as JSON. */
export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined) return '';
  return JSON.stringify(v);
}

/** "3m ago" style age of an RFC 3339 time, for tables. */
export function age(iso: unknown, now = Date.now()): string {
  if (typeof iso !== 'string') return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
