import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../../collector/store/postgres-store.ts';
import { testPostgres } from '../../helpers/postgres.ts';
import { storeConformance } from './conformance.ts';

const pg = await testPostgres();
if (!pg.url) console.warn(`SKIPPING PostgreSQL store tests: ${pg.reason}`);
afterAll(() => pg.stop());

storeConformance('postgres', () => Promise.resolve(new PostgresStore({ url: pg.url!, schema: pg.schema })), pg.url ? {} : { skip: pg.reason });

(pg.url ? describe : describe.skip)('postgres store', () => {
  it('is not ready when the server cannot be reached, and says why', async () => {
    const s = new PostgresStore({ url: 'postgres://postgres@127.0.0.1:1/none', schema: pg.schema });
    const r = await s.ready();
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/ECONNREFUSED|connect/);
    await s.close();
  });
});
