import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { heartbeatsRoute, isHeartbeatsRequest } from '../../../collector/api/heartbeats-route.ts';
import { IngestMetrics } from '../../../collector/api/ingest-metrics.ts';
import { NoAuthenticator } from '../../../collector/auth/no-authenticator.ts';
import { GroupCommitter } from '../../../collector/ingest/group-committer.ts';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { beat } from '../../helpers/heartbeats.ts';

// The ingest endpoint runs on node:http ahead of fastify (build-server.ts); the collector's integration tests cover
// it end to end. These cases cover what only this handler decides: which requests it takes, and that it refuses new
// heartbeats once the server has begun to close, as fastify's return503OnClosing does for the other routes.

describe('isHeartbeatsRequest', () => {
  const req = (method: string, url: string) => ({ method, url }) as Parameters<typeof isHeartbeatsRequest>[0];
  it('takes POST /v1/heartbeats with or without a query string, and nothing else', () => {
    expect(isHeartbeatsRequest(req('POST', '/v1/heartbeats'))).toBe(true);
    expect(isHeartbeatsRequest(req('POST', '/v1/heartbeats?x=1'))).toBe(true);
    expect(isHeartbeatsRequest(req('GET', '/v1/heartbeats'))).toBe(false);
    expect(isHeartbeatsRequest(req('POST', '/v1/heartbeatsx'))).toBe(false);
    expect(isHeartbeatsRequest(req('POST', '/v1/heartbeats/1'))).toBe(false);
    expect(isHeartbeatsRequest(req('POST', '/v1/heartbeat'))).toBe(false);
  });
});

describe('heartbeats route on node:http', () => {
  let server: Server | undefined;
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    await store?.close();
  });

  async function start() {
    store = new SqliteStore({ path: ':memory:' });
    await store.migrate();
    const log = createLogger({ name: 'podpulse-test', level: 'silent' });
    const committer = new GroupCommitter({ store, log });
    const route = heartbeatsRoute({
      authenticator: new NoAuthenticator(), committer, metrics: new IngestMetrics('sqlite', { processMetrics: false }), log,
      limits: { bodyBytes: 1 << 20, decompressedBytes: 4 << 20 }, retryAfterSeconds: 3,
    });
    server = createServer(route.handle);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/heartbeats`;
    const post = (seq: number) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(beat({ seq })) });
    return { route, post };
  }

  it('answers 202 with the ack, then 503 with Retry-After and Connection: close once closing', async () => {
    const { route, post } = await start();
    const ok = await post(1);
    expect(ok.status).toBe(202);
    expect(ok.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await ok.json()).toMatchObject({ apiVersion: 'podpulse.io/v1', accepted: 1, duplicates: 0 });

    route.close();
    const refused = await post(2);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('3');
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ error: { code: 'PODPULSE_ERR_OVERLOADED' } });
    // Nothing of the refused heartbeat was stored.
    const page = await store!.listInstances();
    expect(page.items).toHaveLength(1);
    expect(page.items[0]!.lastSeq).toBe(1);
  });
});
