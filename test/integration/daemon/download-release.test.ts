import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadRelease } from '../../../daemon/download-release.ts';
import { closedPort } from '../../helpers/tcp-targets.ts';

// A release URL outside the collector (an object store, a CDN): downloaded with node:http, redirects followed.
const BUNDLE = Buffer.from(`// a worker bundle\n${'x'.repeat(200_000)}\n`);
let base: string;
let close: () => void;
const tmp = mkdtempSync(join(tmpdir(), 'podpulse-download-'));

beforeAll(async () => {
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const [, route = '', arg = ''] = (req.url ?? '/').split('/');
    const port = (srv.address() as AddressInfo).port;
    if (route === 'bundle') return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(BUNDLE);
    // n hops, alternating between 127.0.0.1 and localhost (another origin), ending at /bundle
    if (route === 'hops') {
      const n = Number(arg);
      const host = n % 2 ? 'localhost' : '127.0.0.1';
      return void res.writeHead(n % 2 ? 307 : 302, { location: n > 1 ? `http://${host}:${port}/hops/${n - 1}` : '/bundle' }).end();
    }
    if (route === 'stall') {
      res.writeHead(200);
      res.write(BUNDLE.subarray(0, 1000));
      return;
    }
    res.writeHead(404).end('not found');
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  close = () => {
    srv.closeAllConnections();
    srv.close();
  };
});
afterAll(() => {
  close();
  rmSync(tmp, { recursive: true, force: true });
});

const download = (path: string, extra: { timeoutMs?: number; maxBytes?: number } = {}) =>
  downloadRelease({ url: `${base}${path}`, tmpDir: tmp, timeoutMs: extra.timeoutMs ?? 10_000, maxBytes: extra.maxBytes ?? 10_000_000 });

describe('downloadRelease from a URL outside the collector', () => {
  it('writes the body to a temp file and hashes it', async () => {
    const d = await download('/bundle');
    expect(readFileSync(d.path)).toEqual(BUNDLE);
    expect(d).toMatchObject({ size: BUNDLE.length, sha256: createHash('sha256').update(BUNDLE).digest('hex') });
    rmSync(d.path);
  });

  it('follows up to five redirects, across origins', async () => {
    const d = await download('/hops/5');
    expect(d.size).toBe(BUNDLE.length);
    rmSync(d.path);
    await expect(download('/hops/6')).rejects.toThrow(/answered HTTP 30[27]/);
  });

  it('refuses a 404, an oversized body and a download past its deadline, leaving no temp file', async () => {
    await expect(download('/missing')).rejects.toThrow(/answered HTTP 404/);
    await expect(download('/bundle', { maxBytes: 1000 })).rejects.toThrow(/larger than 1000 bytes/);
    const started = Date.now();
    await expect(download('/stall', { timeoutMs: 300 })).rejects.toThrow(/did not finish within 300ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('names the cause when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/bundle`;
    await expect(downloadRelease({ url, tmpDir: tmp, timeoutMs: 5_000, maxBytes: 1000 })).rejects.toThrow(/failed: .*ECONNREFUSED/);
  });
});
