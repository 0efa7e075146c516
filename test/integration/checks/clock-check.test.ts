import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockCheck } from '../../../checks/clock-check.ts';
import { ClockSpec } from '../../../src/protocol/checks/network-specs.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { startHttpTarget, type HttpTarget } from '../../helpers/http-target.ts';
import { startSntpServer, type SntpServer } from '../../helpers/sntp-server.ts';
import { closedPort } from '../../helpers/tcp-targets.ts';

let sntp: SntpServer;
let http: HttpTarget;
let noDate: Server;

beforeAll(async () => {
  sntp = await startSntpServer();
  http = await startHttpTarget();
  noDate = createServer((_req, res) => {
    res.sendDate = false;
    res.end();
  });
  noDate.listen(0, '127.0.0.1');
  await once(noDate, 'listening');
});
afterAll(async () => {
  noDate.close();
  await Promise.all([sntp.close(), http.close()]);
});

const OK = { status: 'ok', code: 'OK' };
const skewed = (ms: number) => () => Date.now() + ms;
const run = (spec: Record<string, unknown>, ctx: Parameters<typeof checkContext>[0] = {}) => clockCheck.run(ClockSpec.parse(spec), checkContext(ctx));

describe('clock check against SNTP', () => {
  const sntpRun = (mode: SntpServer['mode'], offsetMs: number, spec: Record<string, unknown> = {}, timeoutMs = 10_000) => {
    sntp.mode = mode;
    sntp.offsetMs = offsetMs;
    return run({ source: 'sntp', server: sntp.address, ...spec }, { timeoutMs });
  };

  it('passes when the local clock agrees with the server', async () => {
    expect(await sntpRun('ok', 0, { warnSkew: '100ms' })).toEqual(OK);
  });

  it('reports CLOCK_SKEW fail with the signed skew when the local clock is far behind', async () => {
    const r = await sntpRun('ok', 5_000);
    expect(r).toMatchObject({ status: 'fail', code: 'CLOCK_SKEW' });
    expect(r.message).toContain('behind');
    expect(r.details?.skewMs).toBeGreaterThan(-5_100);
    expect(r.details?.skewMs).toBeLessThan(-4_900);
  });

  it('reports CLOCK_SKEW warn between the thresholds', async () => {
    expect(await sntpRun('ok', -1_000)).toMatchObject({ status: 'warn', code: 'CLOCK_SKEW', message: expect.stringContaining('ahead of') });
  });

  it('reports CLOCK_SOURCE_UNREACHABLE naming the problem when the reply is garbage', async () => {
    const r = await sntpRun('garbage', 0);
    expect(r).toMatchObject({ status: 'unknown', code: 'CLOCK_SOURCE_UNREACHABLE' });
    expect(r.message).toContain('invalid SNTP reply: 20 bytes');
  });

  it("reports CLOCK_SOURCE_UNREACHABLE on a kiss-o'-death", async () => {
    const r = await sntpRun('kod', 0);
    expect(r).toMatchObject({ status: 'unknown', code: 'CLOCK_SOURCE_UNREACHABLE' });
    expect(r.message).toContain('"RATE"');
  });

  it('reports CLOCK_SOURCE_UNREACHABLE before the runner deadline when the server never answers', async () => {
    const r = await sntpRun('drop', 0, {}, 1_500);
    expect(r).toMatchObject({ status: 'unknown', code: 'CLOCK_SOURCE_UNREACHABLE', message: expect.stringContaining('no SNTP reply') });
  });

  it('reports CHECK_TIMEOUT promptly when the runner aborts while the server is silent', async () => {
    sntp.mode = 'drop';
    const started = Date.now();
    const r = await clockCheck.run(ClockSpec.parse({ source: 'sntp', server: sntp.address }), checkContext({ signal: AbortSignal.timeout(300) }));
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports CLOCK_SOURCE_UNREACHABLE when nothing listens on the port', async () => {
    const r = await run({ source: 'sntp', server: `127.0.0.1:${await closedPort()}` });
    expect(r).toMatchObject({ status: 'unknown', code: 'CLOCK_SOURCE_UNREACHABLE' });
  });

  it('reports CHECK_MISCONFIGURED without a server', async () => {
    expect(await run({ source: 'sntp' })).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });
});

describe('clock check against the collector', () => {
  it('passes with a sub-second warn threshold when the clocks agree, despite the 1 s Date resolution', async () => {
    for (let i = 0; i < 5; i++) expect(await run({ server: `${http.url}/ok`, warnSkew: '100ms' })).toEqual(OK);
  });

  it('reports CLOCK_SKEW fail against the configured collector URL (its /healthz)', async () => {
    const r = await run({}, { collectorUrl: http.url, now: skewed(5_000) });
    expect(r).toMatchObject({ status: 'fail', code: 'CLOCK_SKEW' });
    expect(r.message).toContain(`${http.url}/healthz`);
    expect(r.message).toContain('ahead of');
  });

  it('reports CLOCK_SKEW warn between the thresholds', async () => {
    const r = await run({ server: `${http.url}/ok`, warnSkew: '1s', failSkew: '10s' }, { now: skewed(-3_000) });
    expect(r).toMatchObject({ status: 'warn', code: 'CLOCK_SKEW' });
  });

  it('reports CLOCK_SOURCE_UNREACHABLE when the answer has no Date header', async () => {
    const r = await run({ server: `http://127.0.0.1:${(noDate.address() as { port: number }).port}/` });
    expect(r).toMatchObject({ status: 'unknown', code: 'CLOCK_SOURCE_UNREACHABLE', message: expect.stringContaining('no valid Date header') });
  });

  it('reports CLOCK_SOURCE_UNREACHABLE when nothing listens', async () => {
    const r = await run({ server: `http://127.0.0.1:${await closedPort()}/` });
    expect(r).toMatchObject({ status: 'unknown', code: 'CLOCK_SOURCE_UNREACHABLE', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('reports CLOCK_SOURCE_UNREACHABLE before the runner deadline when the collector hangs', async () => {
    const r = await run({ server: `${http.url}/hang` }, { timeoutMs: 1_500 });
    expect(r).toMatchObject({ status: 'unknown', code: 'CLOCK_SOURCE_UNREACHABLE' });
  });

  it('reports CHECK_TIMEOUT promptly when the runner aborts while the collector hangs', async () => {
    const r = await clockCheck.run(ClockSpec.parse({ server: `${http.url}/hang` }), checkContext({ signal: AbortSignal.timeout(300) }));
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
  });

  it('reports CHECK_MISCONFIGURED with neither a server nor a collector URL', async () => {
    expect(await run({})).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });
});
