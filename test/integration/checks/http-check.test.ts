import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCheck } from '../../../checks/http-check.ts';
import { HttpSpec } from '../../../src/protocol/checks/network-specs.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { startHttpTarget, type HttpTarget } from '../../helpers/http-target.ts';
import { startRawTcpServer, type RawTcpServer } from '../../helpers/raw-tcp-server.ts';
import { closedPort } from '../../helpers/tcp-targets.ts';
import { generateTestCerts, type TestCerts } from '../../helpers/tls-certs.ts';

let http: HttpTarget;
let https: HttpTarget;
let garbage: RawTcpServer;
let certs: TestCerts;

beforeAll(async () => {
  certs = await generateTestCerts();
  http = await startHttpTarget();
  https = await startHttpTarget(certs.selfSigned);
  garbage = await startRawTcpServer('garbage');
});
afterAll(async () => {
  await Promise.all([http.close(), https.close(), garbage.close()]);
  await certs.cleanup();
});

const run = (spec: Record<string, unknown>, timeoutMs = 10_000) => httpCheck.run(HttpSpec.parse(spec), checkContext({ timeoutMs }));
const OK = { status: 'ok', code: 'OK' };

describe('http check', () => {
  it('passes on a 2xx answer', async () => {
    expect(await run({ url: `${http.url}/ok` })).toEqual(OK);
  });

  it('matches expected status codes and classes', async () => {
    expect(await run({ url: `${http.url}/status/503`, expectStatus: [503] })).toEqual(OK);
    expect(await run({ url: `${http.url}/status/404`, expectStatus: [200, '4xx'] })).toEqual(OK);
  });

  it('reports HTTP_STATUS with the status when it is not expected', async () => {
    const r = await run({ url: `${http.url}/status/503` });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_STATUS', details: { status: 503 } });
    expect(r.message).toContain('status 503');
  });

  it('sends the method, headers and body', async () => {
    const spec = { url: `${http.url}/echo`, method: 'POST', headers: { authorization: 'Bearer t0k' }, body: 'ping', bodyContains: 'POST ping auth=Bearer t0k' };
    expect(await run(spec)).toEqual(OK);
  });

  it('checks bodyContains and bodyRegex', async () => {
    expect(await run({ url: `${http.url}/ok`, bodyContains: 'from podpulse', bodyRegex: '^hello\\s' })).toEqual(OK);
    const r = await run({ url: `${http.url}/ok`, bodyContains: 'goodbye' });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_BODY_MISMATCH' });
    expect(r.message).toContain('"goodbye"');
    expect(await run({ url: `${http.url}/ok`, bodyRegex: '^goodbye' })).toMatchObject({ status: 'fail', code: 'HTTP_BODY_MISMATCH' });
  });

  it('checks a JSON path against its expected value', async () => {
    expect(await run({ url: `${http.url}/json`, json: { path: 'status.db', equals: 'up' } })).toEqual(OK);
    expect(await run({ url: `${http.url}/json`, json: { path: 'items.0.name', equals: 'first' } })).toEqual(OK);
    expect(await run({ url: `${http.url}/json`, json: { path: 'nothing', equals: null } })).toEqual(OK);
    const r = await run({ url: `${http.url}/json`, json: { path: 'status.replicas', equals: 5 } });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_BODY_MISMATCH', message: 'JSON path status.replicas is 3, expected 5' });
    const missing = await run({ url: `${http.url}/json`, json: { path: 'status.cache', equals: 'up' } });
    expect(missing).toMatchObject({ status: 'fail', code: 'HTTP_BODY_MISMATCH' });
    expect(missing.message).toContain('not found');
  });

  it('reports HTTP_BODY_INVALID when a JSON path is asserted on a body that is not JSON', async () => {
    expect(await run({ url: `${http.url}/garbage`, json: { path: 'a', equals: 1 } })).toMatchObject({ status: 'fail', code: 'HTTP_BODY_INVALID' });
  });

  it('reads at most maxBodyBytes and says so when an assertion fails on the cut body', async () => {
    const r = await run({ url: `${http.url}/big/200000`, bodyContains: 'THE-END', maxBodyBytes: 1000 });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_BODY_MISMATCH', details: { truncated: true } });
    expect(r.message).toContain('first 1000 bytes');
    expect(await run({ url: `${http.url}/big/200000`, bodyContains: 'THE-END' })).toEqual(OK);
  });

  it('reports LATENCY_HIGH as warn and fail by the thresholds', async () => {
    expect(await run({ url: `${http.url}/slow/400`, warnLatency: '200ms' })).toMatchObject({ status: 'warn', code: 'LATENCY_HIGH' });
    expect(await run({ url: `${http.url}/slow/400`, warnLatency: '100ms', failLatency: '200ms' })).toMatchObject({ status: 'fail', code: 'LATENCY_HIGH' });
    expect(await run({ url: `${http.url}/ok`, warnLatency: '5s' })).toEqual(OK);
  });

  it('reports HTTP_TIMEOUT before the runner deadline when the server never answers', async () => {
    expect(await run({ url: `${http.url}/hang` }, 1_500)).toMatchObject({ status: 'fail', code: 'HTTP_TIMEOUT' });
  });

  it('reports CHECK_TIMEOUT promptly, not a dependency failure, when the runner aborts first', async () => {
    const started = Date.now();
    const r = await httpCheck.run(HttpSpec.parse({ url: `${http.url}/hang` }), checkContext({ signal: AbortSignal.timeout(300) }));
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports HTTP_TIMEOUT when the body never finishes', async () => {
    expect(await run({ url: `${http.url}/hang-body`, bodyContains: 'x' }, 1_500)).toMatchObject({ status: 'fail', code: 'HTTP_TIMEOUT' });
  });

  it('reports HTTP_CONNECT when nothing listens', async () => {
    const r = await run({ url: `http://127.0.0.1:${await closedPort()}/` });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_CONNECT', details: { error: 'ECONNREFUSED' } });
  });

  it('reports HTTP_TLS for an untrusted certificate, and passes with tlsVerify off', async () => {
    const r = await run({ url: `${https.url}/ok` });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_TLS' });
    expect(r.message).toMatch(/self[- ]signed/i);
    expect(await run({ url: `${https.url}/ok`, tlsVerify: false })).toEqual(OK);
  });

  it('reports HTTP_ERROR naming the cause when the server does not speak HTTP', async () => {
    const r = await run({ url: `http://127.0.0.1:${garbage.port}/` });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_ERROR' });
    expect(r.message).toBeTruthy();
  });

  it('sends HEAD and reads no body', async () => {
    expect(await run({ url: `${http.url}/ok`, method: 'HEAD' })).toEqual(OK);
  });

  it('uses a fresh connection for every run and closes it afterwards', async () => {
    let connections = 0;
    let open = 0;
    const srv = createServer((_req, res) => res.end('fine'));
    srv.on('connection', (sock: Socket) => {
      connections++;
      open++;
      sock.on('close', () => open--);
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    try {
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
      for (let i = 0; i < 3; i++) expect(await run({ url })).toEqual(OK);
      expect(connections).toBe(3);
      for (let i = 0; i < 50 && open > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(open).toBe(0);
    } finally {
      srv.closeAllConnections();
      srv.close();
    }
  });

  it('reports HTTP_ERROR, without throwing, for a header value HTTP cannot carry', async () => {
    const r = await run({ url: `${http.url}/ok`, headers: { 'x-note': 'line\nbreak' } });
    expect(r).toMatchObject({ status: 'fail', code: 'HTTP_ERROR' });
  });

  describe('redirects', () => {
    it('turns a POST redirected with 302 into a GET without its body', async () => {
      const spec = { url: `${http.url}/redirect-to?l=${encodeURIComponent('/echo')}`, method: 'POST', body: 'ping', redirects: 'follow', bodyContains: 'GET  auth=-' };
      expect(await run(spec)).toEqual(OK);
    });

    it('applies tlsVerify to a redirect onto https', async () => {
      const spec = { url: `${http.url}/redirect-to?l=${encodeURIComponent(`${https.url}/ok`)}`, redirects: 'follow' };
      expect(await run(spec)).toMatchObject({ status: 'fail', code: 'HTTP_TLS' });
      expect(await run({ ...spec, tlsVerify: false, bodyContains: 'hello' })).toEqual(OK);
    });

    it('treats a redirect as the response when the policy is none', async () => {
      expect(await run({ url: `${http.url}/redirect/1` })).toMatchObject({ status: 'fail', code: 'HTTP_STATUS', details: { status: 302 } });
      expect(await run({ url: `${http.url}/redirect/1`, expectStatus: ['3xx'] })).toEqual(OK);
    });

    it('follows up to maxRedirects', async () => {
      expect(await run({ url: `${http.url}/redirect/3`, redirects: 'follow', maxRedirects: 3, bodyContains: 'hello' })).toEqual(OK);
    });

    it('reports HTTP_REDIRECT when there are more than maxRedirects', async () => {
      const r = await run({ url: `${http.url}/redirect/4`, redirects: 'follow', maxRedirects: 3 });
      expect(r).toMatchObject({ status: 'fail', code: 'HTTP_REDIRECT' });
      expect(r.message).toContain('more than 3 redirects');
    });

    it('reports HTTP_REDIRECT for any redirect when the policy is fail', async () => {
      expect(await run({ url: `${http.url}/redirect/1`, redirects: 'fail' })).toMatchObject({ status: 'fail', code: 'HTTP_REDIRECT' });
    });

    it('reports HTTP_REDIRECT for a redirect to a non-http location', async () => {
      const r = await run({ url: `${http.url}/redirect-to?l=${encodeURIComponent('ftp://example/')}`, redirects: 'follow' });
      expect(r).toMatchObject({ status: 'fail', code: 'HTTP_REDIRECT' });
    });

    it('does not carry the authorization header to another origin', async () => {
      const other = `http://localhost:${http.port}/echo`;
      const spec = { url: `${http.url}/redirect-to?l=${encodeURIComponent(other)}`, method: 'GET', redirects: 'follow', headers: { Authorization: 'Bearer t0k' }, bodyContains: 'auth=-' };
      expect(await run(spec)).toEqual(OK);
    });
  });
});
