import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { HttpError } from './http-error.ts';

const gunzip = promisify(gunzipCb);

export interface BodyLimits {
  /** Bytes on the wire (compressed or not). */
  bodyBytes: number;
  /** Bytes after gzip decompression: what a gzip bomb runs into. */
  decompressedBytes: number;
}

const tooLarge = (what: string, limit: number) =>
  new HttpError(413, 'PODPULSE_ERR_PAYLOAD_TOO_LARGE', 'too_large', `${what} is larger than ${limit} bytes`);

/** Whether a Content-Type is JSON (`application/json`, with or without parameters). */
export function isJsonContentType(ct: string | undefined): boolean {
  return !!ct && /^application\/json\s*(;|$)/i.test(ct.trim());
}

/**
 * Reads a request body as JSON bytes, never holding more than the limits: Content-Length over the limit is refused
 * before reading, a chunked body is cut off at the limit, and gzip is inflated with a ceiling on its output, so a
 * few KB of gzip cannot become gigabytes in memory. Throws HttpError (413, 415, 400).
 */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const ct = req.headers['content-type'];
  if (!isJsonContentType(ct)) {
    throw new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', `expected Content-Type application/json, got ${ct ? JSON.stringify(ct.slice(0, 64)) : 'none'}`);
  }
  const enc = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (enc !== 'identity' && enc !== 'gzip') {
    throw new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', `unsupported Content-Encoding ${JSON.stringify(enc.slice(0, 32))} (gzip or none)`);
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limits.bodyBytes) throw tooLarge('request body', limits.bodyBytes);
  const raw = await readLimited(req, limits.bodyBytes);
  if (enc === 'identity') return raw;
  try {
    return await gunzip(raw, { maxOutputLength: limits.decompressedBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw tooLarge('decompressed request body', limits.decompressedBytes);
    throw new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', 'invalid request body', { violations: [{ path: '', message: `not valid gzip: ${(err as Error).message}` }] });
  }
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        cleanup();
        // Stop reading; the rest of an oversized body is not worth receiving, so the connection is closed after the answer.
        req.pause();
        reject(tooLarge('request body', limit));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => (cleanup(), resolve(Buffer.concat(chunks, size)));
    const onError = (err: Error) => (cleanup(), reject(new HttpError(400, 'PODPULSE_ERR_PROTOCOL', 'bad_request', `request body aborted: ${err.message}`)));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
