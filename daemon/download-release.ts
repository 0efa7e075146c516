import { randomBytes } from '../src/agent/random-bytes.ts';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CollectorClient } from '../src/agent/collector-client.ts';
import { httpRequest, REDIRECT_STATUSES } from '../src/agent/http-request.ts';

/** Redirects followed from a release URL outside the collector (an object store's signed URL, a CDN). */
const MAX_REDIRECTS = 5;

export interface DownloadOptions {
  url: string;
  /** Directory for the temp file (inside the state dir, so the install rename stays on one filesystem). */
  tmpDir: string;
  timeoutMs: number;
  maxBytes: number;
  /** Used (with its token) when the URL is under the collector's base URL. */
  client?: { client: CollectorClient; baseUrl: string } | undefined;
}

/** A downloaded bundle in a temp file, with its sha256 as received. The caller removes `path`. */
export interface Downloaded {
  path: string;
  sha256: string;
  size: number;
}

/**
 * Downloads a release bundle to a temp file with an overall deadline and a size cap. A 404, a hang past the
 * deadline or an oversized body throws an Error whose message is fit for the update status.
 */
export async function downloadRelease(opts: DownloadOptions): Promise<Downloaded> {
  await mkdir(opts.tmpDir, { recursive: true });
  const path = join(opts.tmpDir, `.download-${randomBytes(6).toString('hex')}`);
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  let size = 0;
  const fh = await open(path, 'w', 0o600);
  try {
    const write = async (chunk: Uint8Array): Promise<void> => {
      size += chunk.byteLength;
      if (size > opts.maxBytes) throw new Error(`release ${opts.url} is larger than ${opts.maxBytes} bytes`);
      hash.update(chunk);
      await fh.write(chunk);
    };
    const base = opts.client?.baseUrl.replace(/\/+$/, '');
    if (opts.client && base && opts.url.startsWith(`${base}/`)) {
      const res = await opts.client.client.request({ method: 'GET', path: opts.url.slice(base.length), timeoutMs: opts.timeoutMs, headers: { accept: 'application/octet-stream' } });
      if (res.status !== 200) throw new Error(`release download ${opts.url} answered HTTP ${res.status}`);
      await write(res.body);
    } else {
      const signal = AbortSignal.timeout(opts.timeoutMs);
      try {
        let url = new URL(opts.url);
        for (let hops = 0; ; hops++) {
          const res = await httpRequest({ url, method: 'GET', signal });
          const location = res.headers.location;
          if (REDIRECT_STATUSES.has(res.statusCode ?? 0) && location !== undefined && hops < MAX_REDIRECTS) {
            res.destroy();
            url = new URL(location, url);
            continue;
          }
          if (res.statusCode !== 200) {
            res.destroy();
            throw new Error(`release download ${opts.url} answered HTTP ${res.statusCode ?? 0}`);
          }
          for await (const chunk of res as AsyncIterable<Buffer>) await write(chunk);
          break;
        }
      } catch (err) {
        if (signal.aborted) throw new Error(`release download ${opts.url} did not finish within ${opts.timeoutMs}ms`, { cause: err });
        throw err instanceof Error && err.message.startsWith('release') ? err : new Error(`release download ${opts.url} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(path, { force: true });
    throw err;
  }
  await fh.close();
  return { path, sha256: hash.digest('hex'), size };
}
