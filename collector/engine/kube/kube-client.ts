import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { ListSplitter, type ListMetadata } from './list-splitter.ts';

/** A failed API call: the HTTP status and, when the server sent one, the Status `reason` (e.g. `Expired`). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  readonly body: unknown;
  constructor(status: number, reason: string | undefined, message: string, body?: unknown) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

/** 410 Gone: the resourceVersion or continue token is older than the server keeps. */
export function isGone(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 410;
}

export interface RequestOpts {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Fails the request when the connection stays silent this long (requests 30 s, list pages 60 s, watches never). */
  timeoutMs?: number;
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (s += c));
    res.on('end', () => resolve(s));
    res.on('error', reject);
  });
}

async function errorFrom(res: IncomingMessage, method: string, path: string): Promise<KubeApiError> {
  const text = await readAll(res).catch(() => '');
  let body: { reason?: string; message?: string } | undefined;
  try {
    body = JSON.parse(text) as { reason?: string; message?: string };
  } catch {
    body = undefined;
  }
  const status = res.statusCode ?? 0;
  return new KubeApiError(status, body?.reason, `${method} ${path}: HTTP ${status}${body?.message ? `: ${body.message}` : ''}`, body ?? text);
}

/**
 * A small HTTP client for the Kubernetes API. `@kubernetes/client-node` supplies only the kubeconfig and its
 * authentication (CA, client certificates, bearer tokens, exec plugins, via `applyToHTTPSOptions`); requests go
 * through node:https so lists are parsed a page at a time and watches line by line, with nothing cached.
 */
export class KubeClient {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #ttlMs: number;
  #opts: Promise<RequestOptions> | undefined;
  #optsAt = 0;

  /** `authTtlMs`: how long the applied authentication is reused before asking the kubeconfig again (token rotation). */
  constructor(kc: KubeConfig, authTtlMs = 60_000) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster (set current-context)');
    this.server = cluster.server.replace(/\/+$/, '');
    this.#kc = kc;
    this.#ttlMs = authTtlMs;
  }

  static fromFile(path: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClient(kc);
  }

  /** The kubeconfig from KUBECONFIG, ~/.kube/config or the in-cluster service account, as kubectl finds it. */
  static fromDefault(): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeClient(kc);
  }

  #options(): Promise<RequestOptions> {
    if (!this.#opts || Date.now() - this.#optsAt > this.#ttlMs) {
      this.#optsAt = Date.now();
      const o: RequestOptions = {};
      this.#opts = this.#kc.applyToHTTPSOptions(o).then(() => o);
      this.#opts.catch(() => (this.#opts = undefined));
    }
    return this.#opts;
  }

  async #send(method: string, path: string, opts: RequestOpts): Promise<IncomingMessage> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const base = await this.#options();
    const tls = url.protocol === 'https:';
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [k, v] of Object.entries(base.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    // The https agent the kubeconfig built carries its CA and client certificate; plain-HTTP servers get none.
    const options: RequestOptions = tls ? { ...base, headers, method } : { headers, method, auth: base.auth };
    return new Promise((resolve, reject) => {
      const req = (tls ? httpsRequest : httpRequest)(url, options, resolve);
      req.on('error', reject);
      if (opts.timeoutMs) {
        const ms = opts.timeoutMs;
        req.setTimeout(ms, () => req.destroy(new Error(`${method} ${path}: no response for ${ms} ms`)));
      }
      if (opts.signal) {
        const abort = (): void => void req.destroy(new Error('aborted'));
        if (opts.signal.aborted) abort();
        opts.signal.addEventListener('abort', abort, { once: true });
        req.on('close', () => opts.signal?.removeEventListener('abort', abort));
      }
      req.end(body);
    });
  }

  /** A JSON request; non-2xx answers reject with KubeApiError. */
  async request<T>(method: string, path: string, opts: RequestOpts = {}): Promise<T> {
    const res = await this.#send(method, path, { timeoutMs: 30_000, ...opts });
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw await errorFrom(res, method, path);
    return JSON.parse(await readAll(res)) as T;
  }

  /**
   * A LIST, read as it streams: each item is parsed on its own and handed to `onItem`; resolves with the list's
   * metadata. Keeps no page-sized string or object graph alive.
   */
  async list(path: string, opts: RequestOpts, onItem: (item: Record<string, unknown>) => void): Promise<ListMetadata> {
    const res = await this.#send('GET', path, { timeoutMs: 60_000, ...opts });
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw await errorFrom(res, 'GET', path);
    const splitter = new ListSplitter((text) => onItem(JSON.parse(text) as Record<string, unknown>));
    res.setEncoding('utf8');
    for await (const chunk of res as AsyncIterable<string>) splitter.push(chunk);
    return splitter.end();
  }

  /** Opens a streaming GET (a watch); resolves with the response once its status is 200. */
  async stream(path: string, opts: RequestOpts = {}): Promise<IncomingMessage> {
    const res = await this.#send('GET', path, opts);
    if (res.statusCode !== 200) throw await errorFrom(res, 'GET', path);
    return res;
  }
}

/**
 * Splits a response into lines as they arrive. Ends when the response ends; rejects if it is cut mid-stream
 * (a dropped connection is not a clean end).
 */
export async function* lines(res: IncomingMessage): AsyncGenerator<string> {
  res.setEncoding('utf8');
  let buf = '';
  for await (const chunk of res as AsyncIterable<string>) {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) yield line;
      nl = buf.indexOf('\n');
    }
  }
  if (!res.complete) throw new Error('watch connection closed mid-stream');
  if (buf.trim()) yield buf;
}
