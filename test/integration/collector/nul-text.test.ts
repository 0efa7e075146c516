import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { beat, failCheck } from '../../helpers/heartbeats.ts';
import { testPostgres, type TestPostgres } from '../../helpers/postgres.ts';

// PostgreSQL text and jsonb refuse NUL. A heartbeat carrying one (say, a process's output in a check message) must
// still be stored, on both stores, rather than fail its batch's commit on every retry of the sidecar.
const pg: TestPostgres = await testPostgres();
if (!pg.url) console.warn(`[nul-text] PostgreSQL case SKIPPED: ${pg.reason}`);
afterAll(() => pg.stop());

const stores = [
  { name: 'sqlite', over: {} },
  ...(pg.url ? [{ name: 'postgres', over: { store: { kind: 'postgres' as const, url: pg.url, schema: pg.schema } } }] : []),
];

describe.each(stores)('a NUL in heartbeat text ($name)', ({ over }) => {
  it('is stored as U+FFFD, in messages and detail values, and the heartbeat is acknowledged', async () => {
    const c = await collectorUnderTest(over);
    try {
      const hb = beat({ podUid: randomUUID(), checks: [{ ...failCheck('proc'), message: 'exit\u0000status', details: { output: 'a\u0000b' } }] });
      const res = await fetch(`${c.url}/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hb) });
      expect(res.status, await res.clone().text()).toBe(202);
      const checks = await c.store.listChecks(hb.instance.podUid);
      expect(checks.map((k) => k.message)).toEqual(['exit\ufffdstatus']);
      // A second, clean heartbeat goes through the same connection and batch machinery unharmed.
      const next = beat({ podUid: hb.instance.podUid, bootId: hb.bootId, seq: hb.seq + 1, sentAt: Date.parse(hb.sentAt) + 10_000, checks: [failCheck('proc')] });
      const res2 = await fetch(`${c.url}/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(next) });
      expect(res2.status).toBe(202);
    } finally {
      await c.close();
    }
  });
});
