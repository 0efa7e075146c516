import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpCheck } from '../../../checks/tcp-check.ts';
import { TcpSpec } from '../../../src/protocol/checks/network-specs.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { blackholeTarget, closedPort, resetTarget, type BlackholeTarget, type ResetTarget } from '../../helpers/tcp-targets.ts';

let listening: Server;
let resetting: ResetTarget;
let blackhole: BlackholeTarget;

const portOf = (s: Server) => (s.address() as { port: number }).port;

beforeAll(async () => {
  listening = createServer((s) => s.end());
  listening.listen(0, '127.0.0.1');
  await once(listening, 'listening');
  resetting = await resetTarget();
  blackhole = await blackholeTarget();
});
afterAll(async () => {
  listening.close();
  await resetting.close();
  await blackhole.close();
});

const run = (host: string, port: number, timeoutMs = 10_000) => tcpCheck.run(TcpSpec.parse({ host, port }), checkContext({ timeoutMs }));

describe('tcp check', () => {
  it('passes when the port accepts a connection', async () => {
    expect(await run('127.0.0.1', portOf(listening))).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports TCP_REFUSED with the connect time when nothing listens', async () => {
    const r = await run('127.0.0.1', await closedPort());
    expect(r).toMatchObject({ status: 'fail', code: 'TCP_REFUSED' });
    expect(typeof r.details?.connectMs).toBe('number');
  });

  it('reports TCP_TIMEOUT before the runner deadline when the listener never accepts', async () => {
    const r = await run('127.0.0.1', blackhole.port, 1_500);
    expect(r).toMatchObject({ status: 'fail', code: 'TCP_TIMEOUT' });
  });

  it('reports CHECK_TIMEOUT, not a dependency failure, when the runner aborts first', async () => {
    const ctx = checkContext({ timeoutMs: 10_000 });
    const controller = new AbortController();
    const r = tcpCheck.run(TcpSpec.parse({ host: '127.0.0.1', port: blackhole.port }), { ...ctx, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    expect(await r).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
  });

  it('reports TCP_UNREACHABLE when the network is unreachable', async () => {
    // The kernel refuses a TCP connect to the broadcast address with ENETUNREACH; no packet leaves the host.
    const r = await run('255.255.255.255', 80);
    expect(r).toMatchObject({ status: 'fail', code: 'TCP_UNREACHABLE' });
  });

  it('reports TCP_RESET when the peer resets the connection before the connect completes', async () => {
    const r = run('127.0.0.1', resetting.port);
    // The check issues its connect on the next tick; this tick, queued after it, holds the loop until the reset.
    process.nextTick(() => resetting.blockUntilReset());
    expect(await r).toMatchObject({ status: 'fail', code: 'TCP_RESET' });
  });

  it('reports TCP_ERROR naming the cause when the host name does not resolve', async () => {
    const r = await run('no-such-host.invalid', 80);
    expect(r).toMatchObject({ status: 'fail', code: 'TCP_ERROR' });
    expect(r.message).toContain('no-such-host.invalid');
  });
});
