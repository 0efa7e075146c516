import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHealth } from '../../../daemon/health-check.ts';

function stateDir(status: Record<string, unknown> | string): string {
  const dir = mkdtempSync(join(tmpdir(), 'health-'));
  writeFileSync(join(dir, 'status.json'), typeof status === 'string' ? status : JSON.stringify(status));
  return dir;
}

const now = Date.parse('2026-01-01T00:00:30Z');

describe('readHealth', () => {
  it('is healthy when the status is fresh and the daemon running, whatever the worker does', async () => {
    const h = await readHealth(stateDir({ updatedAt: '2026-01-01T00:00:25Z', daemon: 'running', worker: 'crashloop', breaker: 'closed' }), 10_000, now);
    expect(h).toMatchObject({ healthy: true, reason: 'daemon running, worker crashloop, breaker closed' });
  });

  it('is unhealthy when the status is older than the limit', async () => {
    const h = await readHealth(stateDir({ updatedAt: '2026-01-01T00:00:00Z', daemon: 'running' }), 10_000, now);
    expect(h).toMatchObject({ healthy: false, reason: 'status is 30s old (limit 10s)' });
  });

  it('is unhealthy while stopping, without a status file, and with a corrupt one', async () => {
    expect((await readHealth(stateDir({ updatedAt: '2026-01-01T00:00:29Z', daemon: 'stopping' }), 10_000, now)).reason).toBe('daemon is stopping');
    expect((await readHealth(join(tmpdir(), 'no-such-state-dir'), 10_000, now)).healthy).toBe(false);
    expect((await readHealth(stateDir('{"upd'), 10_000, now)).healthy).toBe(false);
  });
});
