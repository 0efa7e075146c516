import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instancePageQuery } from '../../../collector/store/sqlite-instance-query.ts';
import { encodeCursor } from '../../../collector/store/rows.ts';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import type { InstanceQuery } from '../../../collector/store/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'podpulse-sqlite-plan-'));
const path = join(dir, 'podpulse.db');
let db: DatabaseSync;

beforeAll(async () => {
  const store = new SqliteStore({ path });
  await store.migrate();
  await store.close();
  db = new DatabaseSync(path, { readOnly: true });
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function plan(q: InstanceQuery): string {
  const { sql, args } = instancePageQuery(q);
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args, 101) as { detail: string }[]).map((r) => r.detail).join('; ');
}

// Every combination of filters, with and without a cursor: 64 queries.
const COLUMNS = ['namespace', 'app', 'tenant', 'node', 'status'] as const;
const combos: InstanceQuery[] = [];
for (let mask = 0; mask < 32; mask++) {
  const q: InstanceQuery = {};
  COLUMNS.forEach((c, i) => {
    if (mask & (1 << i)) (q as Record<string, string>)[c] = c === 'status' ? 'healthy' : `${c}-1`;
  });
  combos.push(q, { ...q, cursor: encodeCursor(['8a6f']) });
}

describe('SQLite instance page query', () => {
  it.each(combos.map((q) => [JSON.stringify(q), q] as const))('%s reads rows in page order and never sorts', (_name, q) => {
    const p = plan(q);
    expect(p).not.toMatch(/TEMP B-TREE/);
    if (q.app !== undefined) expect(p).toMatch(q.namespace !== undefined ? /USING INDEX instances_ns_app/ : /USING INDEX instances_app/);
    else expect(p).toMatch(q.cursor !== undefined ? /USING PRIMARY KEY \(pod_uid>\?\)/ : /^SCAN instances$/);
  });
});
