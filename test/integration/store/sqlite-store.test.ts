import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import { beat } from '../../helpers/heartbeats.ts';
import { storeConformance } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'podpulse-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeConformance('sqlite', () => Promise.resolve(new SqliteStore({ path: join(dir, 'conformance', 'podpulse.db') })));

describe('sqlite store file', () => {
  it('keeps committed heartbeats across a reopen of the same file', async () => {
    const path = join(dir, 'reopen.db');
    const a = new SqliteStore({ path });
    await a.migrate();
    const hb = beat();
    await a.ingest([hb], Date.now());
    await a.close();
    const b = new SqliteStore({ path });
    await b.migrate();
    expect(await b.getInstance(hb.instance.podUid)).toMatchObject({ podUid: hb.instance.podUid });
    expect(await b.ingest([hb], Date.now())).toEqual([{ duplicate: true }]);
    await b.close();
  });

  it('is not ready before migrations are applied', async () => {
    const s = new SqliteStore({ path: join(dir, 'fresh.db') });
    expect((await s.ready()).ok).toBe(false);
    await s.migrate();
    expect((await s.ready()).ok).toBe(true);
    await s.close();
  });
});
