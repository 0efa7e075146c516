import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors.ts';
import { CHECK_KINDS } from '../../../src/protocol/checks/check-config.ts';
import { REASON_CODES } from '../../../src/protocol/codes.ts';

const root = new URL('../../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

/** Rows of the first markdown table whose first cell is a back-quoted code: `[code, ...cells]`. */
function tableRows(md: string): string[][] {
  return md
    .split('\n')
    .filter((l) => /^\|\s*`[A-Z_]+`\s*\|/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim().replace(/^`|`$/g, '')));
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('docs/errors.md', () => {
  it('lists exactly the error codes in src/errors.ts, with the same meaning and fix', () => {
    const rows = tableRows(read('docs/errors.md'));
    expect(rows.map((r) => r[0])).toEqual(Object.keys(ERROR_CODES));
    for (const [code, meaning, fix] of rows) {
      const entry = ERROR_CODES[code as keyof typeof ERROR_CODES];
      expect({ code, meaning, fix }).toEqual({ code, meaning: entry.meaning, fix: entry.fix });
    }
  });

  it('every PODPULSE_ERR_* code used in the source is in the catalogue', () => {
    const used = new Set<string>();
    for (const dir of ['src', 'daemon', 'worker', 'checks', 'collector', 'cli']) {
      for (const f of sourceFiles(new URL(dir, root).pathname)) for (const m of readFileSync(f, 'utf8').matchAll(/PODPULSE_ERR_[A-Z_]+/g)) used.add(m[0]);
    }
    expect([...used].filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });
});

describe('docs/reason-codes.md', () => {
  it('lists exactly the reason codes in src/protocol/codes.ts, with their statuses and meaning', () => {
    const rows = tableRows(read('docs/reason-codes.md'));
    expect(rows.map((r) => r[0])).toEqual(Object.keys(REASON_CODES));
    for (const [code, statuses, meaning] of rows) {
      const entry = REASON_CODES[code as keyof typeof REASON_CODES];
      expect({ code, statuses, meaning }).toEqual({ code, statuses: entry.statuses.join(', '), meaning: entry.meaning });
    }
  });

  it('documents every check kind', () => {
    const md = read('docs/reason-codes.md');
    for (const kind of CHECK_KINDS) expect(md).toContain(`### ${kind}`);
  });
});
