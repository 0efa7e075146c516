import pg from 'pg';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { pgArray, type PgArrayElement } from '../../../collector/store/pg-array.ts';
import { testPostgres } from '../../helpers/postgres.ts';

// The ingest statement's array parameters are built as PostgreSQL array literals by pgArray; what the server parses
// out of them must be exactly the values given, whatever a heartbeat's text holds.

const testPg = await testPostgres();
afterAll(() => testPg.stop());

(testPg.url ? describe : describe.skip)('pgArray literals as PostgreSQL reads them', () => {
  const client = new pg.Client({ connectionString: testPg.url });
  const connected = client.connect();
  afterAll(() => client.end());

  async function roundTrip(values: readonly PgArrayElement[], type: string): Promise<unknown[]> {
    await connected;
    const r = await client.query(`SELECT $1::${type}[] AS a`, [pgArray(values, (v) => v)]);
    return r.rows[0].a as unknown[];
  }

  it('keeps text with quotes, backslashes, braces, commas, spaces, the word NULL and the empty string', async () => {
    const values = ['plain', 'with "quotes"', 'back\\slash', '{braces}', 'a,b', ' spaced ', 'NULL', 'null', '', 'ünï©ødé ✓', 'tab\tnew\nline'];
    expect(await roundTrip(values, 'text')).toEqual(values);
  });

  it('sends null and undefined as SQL NULL, and numbers bare', async () => {
    expect(await roundTrip(['a', null, undefined, 'b'], 'text')).toEqual(['a', null, null, 'b']);
    expect(await roundTrip([0, 1, -5, 1_780_000_000_000, null], 'bigint')).toEqual(['0', '1', '-5', '1780000000000', null]);
    expect(await roundTrip([], 'uuid')).toEqual([]);
    expect(await roundTrip(['6f1c0a52-3b1e-4c55-9d1a-2f0b8c1d9e7a'], 'uuid')).toEqual(['6f1c0a52-3b1e-4c55-9d1a-2f0b8c1d9e7a']);
  });

  it('round-trips any text PostgreSQL can hold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string(), fc.constant(null)), { maxLength: 8 }), async (values) => {
        // PostgreSQL text cannot hold NUL (the collector replaces it before it gets here: parse-heartbeat-body.ts).
        const clean = values.map((v) => (v === null ? null : v.replaceAll('\u0000', '')));
        expect(await roundTrip(clean, 'text')).toEqual(clean);
      }),
      { numRuns: 300 },
    );
  });
});
