import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { randomBytes, randomUuid } from '../../../src/agent/random-bytes.ts';

describe('random bytes without node:crypto', () => {
  it('gives the number of bytes asked for, different every time', () => {
    expect(randomBytes(0)).toHaveLength(0);
    const a = randomBytes(32);
    const b = randomBytes(32);
    expect(a).toHaveLength(32);
    expect(a.equals(b)).toBe(false);
    const large = randomBytes(65536);
    expect(large).toHaveLength(65536);
    expect(new Set(large).size).toBeGreaterThan(200);
  });

  it('gives version 4 UUIDs (the boot id of a heartbeat), all distinct', () => {
    const ids = Array.from({ length: 1000 }, () => randomUuid());
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(z.uuid().safeParse(id).success).toBe(true);
    }
  });
});
