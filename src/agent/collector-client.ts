import { stat, readFile } from 'node:fs/promises';
import type { Agent, IncomingMessage } from 'node:http';
import { PodpulseError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { httpModule, httpRequest, readBody } from './http-request.ts';

/**
 * gzip through `node:zlib` taken on first use: a heartbeat is under GZIP_ABOVE, so a sidecar that never replays a
 * spool never loads zlib (about 0.5 MB of private memory, docs/worker-footprint.md).
 */
function gzip(body: Buffer): Promise<Buffer> {
  const zlib = process.getBuiltinModule('node:zlib');
  return new Promise((resolve, reject) => zlib.gzip(body, (err, out) => (err ? reject(err) : resolve(out))));
}

/** Bodies above this size are sent gzip-compressed (a batch replay compresses ~10x; one beat is not worth it). */
const GZIP_ABOVE = 1024;

/** How the sidecar reaches the collector's agent API. */
export interface CollectorClientOptions {
  /** Base URL, e.g. `http://podpulse-collector.podpulse:8080`; a path prefix is kept. */
  url: string;
  /** The projected ServiceAccount token; re-read whenever it rotates. No token is sent when unset. */
  tokenFile?: string | undefined;
  /** Per-request timeout (connect to end of body), 10 s by default. */
  timeoutMs?: number;
  log: Logger;
  userAgent: string;
  /** Keep-alive connections at most, 2 by default (a heartbeat stream and a long poll); further requests queue. */
  connections?: number;
}

/** An answer from the collector, whatever its status; the body is read in full. */
export interface CollectorResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body parsed as JSON; throws a SyntaxError when it is not. */
  json<T = unknown>(): T;
}

/** The collector could not be reached at all (refused, reset, timeout): spool and retry, it is not the data's fault. */
export class CollectorUnavailableError extends PodpulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PODPULSE_ERR_COLLECTOR_UNAVAILABLE', message, options);
    this.name = 'CollectorUnavailableError';
  }
}

interface TokenCache {
  key: string;
  token: string | undefined;
}

/** Idle keep-alive connections are closed after this, or 1 s before the server's own `Keep-Alive: timeout=` hint. */
const IDLE_MS = 30_000;
/** Errors of a reused keep-alive connection that the server closed while the request was being written. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * HTTP client for the agent API over a keep-alive `node:http(s)` Agent with a bounded socket count (undici is not
 * used by agent processes: docs/adr/0008). The bearer token is read from a file and re-read when the file changes:
 * kubelet rotates projected tokens by swapping a symlink, so a stat (following the link) per request notices it at
 * the cost of one syscall, and the token is never re-read needlessly.
 */
export class CollectorClient {
  readonly #agent: Agent;
  readonly #base: URL;
  readonly #opts: CollectorClientOptions;
  #token: TokenCache | undefined;
  #tokenError: string | undefined;

  constructor(opts: CollectorClientOptions) {
    this.#opts = opts;
    this.#base = new URL(opts.url);
    const connections = opts.connections ?? 2;
    // `timeout` only closes idle sockets (an agent never times out a socket in use); the request's AbortSignal
    // carries each request's deadline. Idle sockets are unref'd, so they never hold a stopping process open.
    this.#agent = new (httpModule(this.#base.protocol).Agent)({ keepAlive: true, maxSockets: connections, maxTotalSockets: connections, maxFreeSockets: connections, timeout: IDLE_MS, scheduling: 'lifo' });
  }

  /** JSON body gzip-compressed when larger than 1 KiB; never throws on an HTTP status; throws CollectorUnavailableError on network errors or timeout. */
  async request(opts: { method: 'GET' | 'POST'; path: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number }): Promise<CollectorResponse> {
    const timeoutMs = opts.timeoutMs ?? this.#opts.timeoutMs ?? 10_000;
    const headers: Record<string, string> = { 'user-agent': this.#opts.userAgent, accept: 'application/json', ...opts.headers };
    const token = await this.#readToken();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: Buffer | undefined;
    if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] = 'application/json';
      if (body.length > GZIP_ABOVE) {
        body = await gzip(body);
        headers['content-encoding'] = 'gzip';
      }
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const path = joinPath(this.#base.pathname, opts.path);
    // Concatenated, not resolved: a path that starts with // must stay a path on the collector, not name a host.
    const url = new URL(`${this.#base.origin}${path}`);
    try {
      const res = await this.#send(url, opts.method, headers, body, signal);
      const { body: buf } = await readBody(res);
      return {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: buf,
        json: <T>() => JSON.parse(buf.toString('utf8')) as T,
      };
    } catch (err) {
      const why = timeout.aborted ? `no answer within ${timeoutMs}ms` : opts.signal?.aborted ? 'request aborted' : describe(err);
      throw new CollectorUnavailableError(`collector ${this.#base.origin} unavailable: ${opts.method} ${path}: ${why}`, { cause: err });
    }
  }

  /** Closes the pooled connections; a request still in flight fails with CollectorUnavailableError. */
  close(): Promise<void> {
    this.#agent.destroy();
    return Promise.resolve();
  }

  /**
   * One exchange, retried once on a fresh connection when a reused keep-alive connection turns out to be closed by
   * the server before any answer (the race between its idle timeout and our next request). No answer was read, and
   * agent API requests are safe to repeat: heartbeats are deduplicated by boot id and sequence number, a command
   * result is stored by command id, the rest are reads.
   */
  async #send(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, signal: AbortSignal): Promise<IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      const reused = { value: false };
      try {
        return await httpRequest({ url, method, headers, body, signal, agent: this.#agent, onSocket: (r) => (reused.value = r) });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt > 0 || !reused.value || signal.aborted || typeof code !== 'string' || !STALE_SOCKET_CODES.has(code)) throw err;
      }
    }
  }

  /** The current token; re-read only when mtime, size or inode changed. A missing file sends no token (the collector answers 401). */
  async #readToken(): Promise<string | undefined> {
    const file = this.#opts.tokenFile;
    if (!file) return undefined;
    try {
      const st = await stat(file, { bigint: true });
      const key = `${st.ino}:${st.size}:${st.mtimeNs}`;
      if (this.#token?.key === key) return this.#token.token;
      const token = (await readFile(file, 'utf8')).trim() || undefined;
      this.#token = { key, token };
      if (this.#tokenError) this.#opts.log.info({ tokenFile: file }, 'token file readable again');
      this.#tokenError = undefined;
      return token;
    } catch (err) {
      const msg = (err as Error).message;
      // Log once per distinct failure, not once per beat; the token itself never reaches a log line.
      if (msg !== this.#tokenError) this.#opts.log.warn({ tokenFile: file, err: msg }, 'cannot read the token file; sending without a token');
      this.#tokenError = msg;
      this.#token = undefined;
      return undefined;
    }
  }
}

function joinPath(prefix: string, path: string): string {
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return `${p}${path.startsWith('/') ? path : `/${path}`}`;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

const BASE_MS = 1_000;
const CAP_MS = 60_000;

/** Full-jitter exponential backoff (base 1 s, cap 60 s), honouring a Retry-After header (seconds or HTTP date) when given. */
export function retryDelay(attempt: number, retryAfter?: string | string[], random: () => number = Math.random): number {
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (header !== undefined && header.trim() !== '') {
    const text = header.trim();
    let ms: number | undefined;
    if (/^\d+$/.test(text)) ms = Number(text) * 1000;
    else {
      const at = Date.parse(text);
      if (!Number.isNaN(at)) ms = Math.max(0, at - Date.now());
    }
    // The server knows its load: follow it, but never wait past the cap (a bad header must not park us for a day).
    if (ms !== undefined) return Math.min(ms, CAP_MS);
  }
  const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.floor(random() * ceiling);
}
