import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';

describe('collector shutdown', () => {
  it('cuts a connection stuck mid-request after a few seconds instead of waiting out the keep-alive timeout', async () => {
    const c = await collectorUnderTest();
    const { hostname, port } = new URL(c.url);
    // A client that sent half a request and went quiet: the server counts the connection as busy, so a plain close
    // would wait for the 30 s request timeout, past a pod's default 30 s termination grace.
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST /v1/heartbeats HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"apiVersion":');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await c.close();
    const took = performance.now() - t0;
    await closed;
    expect(took).toBeGreaterThan(4_000);
    expect(took).toBeLessThan(8_000);
  }, 20_000);
});
