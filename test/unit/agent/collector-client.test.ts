import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorClient, CollectorUnavailableError, retryDelay } from '../../../src/agent/collector-client.ts';
import { captureLogs } from '../../helpers/capture-logs.ts';

interface Seen { headers: IncomingMessage['headers']; body: Buffer; url: string }

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function server(handler: (req: IncomingMessage, body: Buffer) => { status: number; body?: string; headers?: Record<string, string> } | 'hang'): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const srv: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers: req.headers, body, url: req.url ?? '' });
      const a = handler(req, body);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? '{}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-client-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function client(url: string, extra: { tokenFile?: string; timeoutMs?: number } = {}) {
  const logs = captureLogs('debug');
  const c = new CollectorClient({ url, log: logs.log, userAgent: 'podpulse-test/1', ...extra });
  cleanups.push(() => c.close());
  return { c, logs };
}

describe('CollectorClient', () => {
  it('sends the bearer token and the new one after the token file is replaced (rotation), never logging it', async () => {
    const { url, seen } = await server(() => ({ status: 202 }));
    const dir = tempDir();
    const token = join(dir, 'token');
    writeFileSync(token, 'first-secret-token\n');
    const { c, logs } = client(url, { tokenFile: token });
    await c.request({ method: 'POST', path: '/v1/heartbeats', body: { a: 1 } });
    await c.request({ method: 'GET', path: '/v1/agent/config' });
    // kubelet swaps the file atomically: write a new one and rename it over the old.
    writeFileSync(join(dir, 'token.new'), 'second-secret-token');
    renameSync(join(dir, 'token.new'), token);
    await c.request({ method: 'POST', path: '/v1/heartbeats', body: { a: 2 } });
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer first-secret-token', 'Bearer first-secret-token', 'Bearer second-secret-token']);
    expect(seen[0]!.headers['user-agent']).toBe('podpulse-test/1');
    expect(logs.raw()).not.toContain('secret-token');
  });

  it('sends no token and warns once when the token file is missing', async () => {
    const { url, seen } = await server(() => ({ status: 401 }));
    const { c, logs } = client(url, { tokenFile: join(tempDir(), 'absent') });
    const r1 = await c.request({ method: 'GET', path: '/x' });
    await c.request({ method: 'GET', path: '/x' });
    expect(r1.status).toBe(401);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(logs.find('cannot read the token file')).toHaveLength(1);
  });

  it('gzips JSON bodies larger than 1 KiB and sends small ones plain', async () => {
    const { url, seen } = await server(() => ({ status: 202, body: '{"ok":true}' }));
    const { c } = client(url);
    const big = { items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item-${i}` })) };
    const r = await c.request({ method: 'POST', path: '/v1/heartbeats', body: big });
    await c.request({ method: 'POST', path: '/v1/heartbeats', body: { small: true } });
    expect(r.json()).toEqual({ ok: true });
    expect(seen[0]!.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(seen[0]!.body).toString('utf8'))).toEqual(big);
    expect(seen[1]!.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(seen[1]!.body.toString('utf8'))).toEqual({ small: true });
  });

  it('keeps a path prefix of the base URL', async () => {
    const { url, seen } = await server(() => ({ status: 200 }));
    const { c } = client(`${url}/podpulse/`);
    await c.request({ method: 'GET', path: '/v1/agent/config' });
    expect(seen[0]!.url).toBe('/podpulse/v1/agent/config');
  });

  it('returns HTTP error statuses with their headers instead of throwing', async () => {
    const { url } = await server(() => ({ status: 503, headers: { 'retry-after': '7' }, body: '{"error":"busy"}' }));
    const { c } = client(url);
    const r = await c.request({ method: 'POST', path: '/v1/heartbeats', body: {} });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('7');
    expect(r.json()).toEqual({ error: 'busy' });
  });

  it('throws CollectorUnavailableError when the connection is refused', async () => {
    const { url } = await server(() => ({ status: 200 }));
    await cleanups.pop()!(); // close that server: the port now refuses
    const { c } = client(url);
    const err = await c.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectorUnavailableError);
    expect((err as CollectorUnavailableError).code).toBe('PODPULSE_ERR_COLLECTOR_UNAVAILABLE');
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('throws CollectorUnavailableError when no answer comes within the timeout', async () => {
    const { url } = await server(() => 'hang');
    const { c } = client(url, { timeoutMs: 200 });
    const t0 = Date.now();
    const err = await c.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectorUnavailableError);
    expect((err as Error).message).toContain('no answer within 200ms');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('CollectorClient connections', () => {
  /** A server that records which connection each request came on; `reset(n)` resets the n-th request's connection. */
  async function countingServer(opts: { delayMs?: number; reset?: (n: number, reusedConnection: boolean) => boolean } = {}) {
    const sockets = new Map<Socket, number>();
    let requests = 0;
    let open = 0;
    let maxOpen = 0;
    const srv = createServer((req, res) => {
      const n = ++requests;
      const s = req.socket;
      const seenBefore = sockets.has(s);
      sockets.set(s, (sockets.get(s) ?? 0) + 1);
      if (opts.reset?.(n, seenBefore)) {
        s.resetAndDestroy();
        return;
      }
      req.resume();
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"n":${n}}`), opts.delayMs ?? 0);
    });
    srv.on('connection', (s: Socket) => {
      maxOpen = Math.max(maxOpen, ++open);
      s.on('close', () => open--);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }));
    return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, connections: () => sockets.size, maxOpen: () => maxOpen };
  }

  it('reuses one keep-alive connection for requests in sequence', async () => {
    const s = await countingServer();
    const { c } = client(s.url);
    for (let i = 0; i < 5; i++) expect((await c.request({ method: 'POST', path: '/v1/heartbeats', body: { i } })).status).toBe(200);
    expect(s.connections()).toBe(1);
  });

  it('opens no more connections than configured; further requests wait for one', async () => {
    const s = await countingServer({ delayMs: 100 });
    const logs = captureLogs('debug');
    const c = new CollectorClient({ url: s.url, log: logs.log, userAgent: 'podpulse-test/1', connections: 2 });
    cleanups.push(() => c.close());
    const answers = await Promise.all(Array.from({ length: 6 }, () => c.request({ method: 'GET', path: '/x' })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(s.maxOpen()).toBe(2);
    expect(s.connections()).toBe(2);
  });

  it('repeats a request once on a fresh connection when the server reset the kept-alive one', async () => {
    // The second request arrives on the kept-alive connection and is reset before any answer, as when the server's
    // idle timeout and the request cross; the client sends it again on a new connection.
    const s = await countingServer({ reset: (n, reused) => n === 2 && reused });
    const { c } = client(s.url);
    expect((await c.request({ method: 'GET', path: '/x' })).json()).toEqual({ n: 1 });
    expect((await c.request({ method: 'GET', path: '/x' })).json()).toEqual({ n: 3 });
    expect(s.connections()).toBe(2);
  });

  it('does not repeat a request reset on a fresh connection', async () => {
    const s = await countingServer({ reset: () => true });
    const { c } = client(s.url);
    const err = await c.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectorUnavailableError);
    expect((err as Error).message).toMatch(/ECONNRESET/);
    expect(s.connections()).toBe(1);
  });

  it('keeps a path that starts with // on the collector', async () => {
    const { url, seen } = await server(() => ({ status: 200 }));
    const { c } = client(url);
    expect((await c.request({ method: 'GET', path: '//elsewhere.example/x' })).status).toBe(200);
    expect(seen[0]!.url).toBe('//elsewhere.example/x');
  });

  it('answers a request aborted by its caller with CollectorUnavailableError saying so', async () => {
    const { url } = await server(() => 'hang');
    const { c } = client(url);
    const err = await c.request({ method: 'GET', path: '/x', signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectorUnavailableError);
    expect((err as Error).message).toContain('request aborted');
  });
});

describe('retryDelay', () => {
  it('grows exponentially with full jitter up to a 60 s cap', () => {
    expect(retryDelay(0, undefined, () => 0.999)).toBe(999);
    expect(retryDelay(3, undefined, () => 0.5)).toBe(4000);
    expect(retryDelay(20, undefined, () => 0.999)).toBe(59_940);
    expect(retryDelay(5, undefined, () => 0)).toBe(0);
  });

  it('honours Retry-After in seconds or as an HTTP date, capped at 60 s', () => {
    expect(retryDelay(0, '7')).toBe(7000);
    expect(retryDelay(0, ['3'])).toBe(3000);
    expect(retryDelay(0, '86400')).toBe(60_000);
    const d = retryDelay(0, new Date(Date.now() + 20_000).toUTCString());
    expect(d).toBeGreaterThan(18_000);
    expect(d).toBeLessThanOrEqual(20_000);
    expect(retryDelay(2, 'soon', () => 0.5)).toBe(2000);
  });
});
