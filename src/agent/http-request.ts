import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/**
 * `node:http` or `node:https` for a URL's protocol, fetched when first needed. Agent processes speak HTTP with these
 * builtins rather than undici, which costs 6–10 MB of private memory per process (docs/adr/0008). They are taken with
 * `process.getBuiltinModule`, not imported: Node's ESM view of `node:http` reads its lazy `WebSocket` getter and so
 * loads Node's internal undici after all, and `node:https` brings OpenSSL's TLS state, which a daemon talking plain
 * HTTP to its collector never needs.
 */
export function httpModule(protocol: string): typeof import('node:http') {
  if (protocol === 'https:') return process.getBuiltinModule('node:https') as unknown as typeof import('node:http');
  if (protocol === 'http:') return process.getBuiltinModule('node:http');
  throw new TypeError(`not an http(s) URL protocol: ${protocol}`);
}

/** Statuses that send the client to `Location`. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export interface HttpRequestOptions {
  url: URL;
  method: string;
  headers?: OutgoingHttpHeaders | undefined;
  body?: string | Buffer | undefined;
  /** Aborting destroys the request and the response body with it; the caller tells a deadline from other errors. */
  signal: AbortSignal;
  /** A keep-alive agent whose connections are reused; without one the exchange has a connection of its own. */
  agent?: Agent | undefined;
  /** https only: verify the server's certificate chain and name (on by default). */
  rejectUnauthorized?: boolean | undefined;
  /** Told whether the connection the request got is a reused keep-alive one. */
  onSocket?: ((reused: boolean) => void) | undefined;
}

/**
 * Sends one request and resolves with the response as soon as its headers arrived; the body is the caller's to read
 * (readBody), discard (discardBody) or destroy. Rejects with the socket's error (`code` ECONNREFUSED, a TLS code, an
 * HPE_* parse error…), with an AbortError when the signal fires, or with the TypeError of an invalid header.
 * Everything is asynchronous: DNS runs in the threadpool and sockets on the event loop.
 */
export function httpRequest(opts: HttpRequestOptions): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    let req: ClientRequest;
    try {
      req = httpModule(opts.url.protocol).request(opts.url, {
        method: opts.method,
        headers: opts.headers,
        signal: opts.signal,
        // `false`: a fresh connection for this exchange, closed after it.
        agent: opts.agent ?? false,
        ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    req.once('response', resolve);
    // `on`, not `once`: a later error (the body cut off after the response came) is the response stream's to report,
    // and an error event without a listener would throw.
    req.on('error', reject);
    const onSocket = opts.onSocket;
    if (onSocket) req.once('socket', () => onSocket(req.reusedSocket));
    if (opts.body !== undefined) req.setHeader('content-length', Buffer.byteLength(opts.body));
    req.end(opts.body);
  });
}

/**
 * Reads at most `max` bytes of the body; when there is more it keeps the first `max` and destroys the rest, so a
 * huge or endless body costs nothing more (and that connection is not reused).
 */
export async function readBody(res: IncomingMessage, max = Infinity): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    const room = max - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      res.destroy(); // leaving the loop would too; say so
      return { body: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { body: Buffer.concat(chunks), truncated: false };
}

/** Reads and drops up to `limit` bytes of the body, then destroys what is left. */
export async function discardBody(res: IncomingMessage, limit: number): Promise<void> {
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size >= limit) break; // leaving the loop destroys the stream
  }
}
