import { describe, expect, it } from 'vitest';
import { Breaker } from '../../../daemon/breaker.ts';
import { BreakerConfig } from '../../../src/protocol/agent-config.ts';
import { createLogger } from '../../../src/log/logger.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const MB = 1024 * 1024;

function breaker(over: Record<string, unknown> = {}) {
  const events: string[] = [];
  const b = new Breaker({
    config: () => BreakerConfig.parse({ cooldown: '100ms', maxCooldown: '300ms', ...over }),
    log,
    onTrip: (r) => events.push(`trip:${r}`),
    onHalfOpen: () => events.push('half-open'),
  });
  return { b, events };
}

describe('Breaker', () => {
  it('trips on the third consecutive CPU sample over the threshold, not on two', () => {
    const { b, events } = breaker();
    expect(b.observe({ workerCpuPercent: 50, workerRssBytes: MB })).toBeUndefined();
    expect(b.observe({ workerCpuPercent: 50, workerRssBytes: MB })).toBeUndefined();
    expect(b.observe({ workerCpuPercent: 5, workerRssBytes: MB })).toBeUndefined();
    expect(b.observe({ workerCpuPercent: 50, workerRssBytes: MB })).toBeUndefined();
    expect(b.observe({ workerCpuPercent: 50, workerRssBytes: MB })).toBeUndefined();
    expect(b.observe({ workerCpuPercent: 50, workerRssBytes: MB })).toMatch(/CPU over 20% for 3 samples/);
    expect(b.state).toBe('open');
    expect(events).toHaveLength(1);
    b.close();
  });

  it('trips at once on RSS over the limit and on container memory over its ratio', () => {
    const a = breaker();
    expect(a.b.observe({ workerRssBytes: 97 * MB })).toMatch(/RSS 97.0 MB over 96 MB/);
    a.b.close();
    const c = breaker();
    expect(c.b.observe({ workerRssBytes: MB, containerMemoryRatio: 0.95 })).toMatch(/container memory at 95.0%/);
    c.b.close();
  });

  it('goes half-open after the cooldown, doubles it on a repeat trip up to maxCooldown, and closes after clean samples', async () => {
    const { b, events } = breaker();
    b.trip('first');
    expect(b.cooldownMs).toBe(100);
    await new Promise((r) => setTimeout(r, 250));
    expect(b.state).toBe('half-open');
    expect(events).toEqual(['trip:first', 'half-open']);
    b.observe({ workerRssBytes: 200 * MB });
    expect(b.cooldownMs).toBe(200);
    b.trip('third');
    expect(b.cooldownMs).toBe(300);
    await new Promise((r) => setTimeout(r, 450));
    expect(b.state).toBe('half-open');
    for (let i = 0; i < 3; i++) b.observe({ workerCpuPercent: 1, workerRssBytes: MB });
    expect(b.state).toBe('closed');
    b.close();
  });
});
