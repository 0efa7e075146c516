import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A decoded JSON body or log line, loosely typed: tests assert on its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

/** A heartbeat as the double received it. */
export interface ReceivedBeat {
  at: number;
  body: Json;
}

/** A queued command (the Command shape, but tests may send invalid ones on purpose). */
export type QueuedCommand = Record<string, unknown>;

/**
 * A collector double for the agent API on a real node:http server (127.0.0.1, port 0 unless given): config with
 * ETag/304, release bundles (or a 404, or a hang), the command long poll, results and heartbeats. It keeps what
 * it received so tests can assert on it, and `waitFor` polls a predicate.
 */
export class CollectorDouble {
  server: Server;
  /** The config body served at GET /v1/agent/config (any JSON, valid or not). */
  config: unknown = { apiVersion: 'podpulse.io/v1', revision: '1', heartbeat: { interval: '1s' } };
  configRequests = 0;
  readonly beats: ReceivedBeat[] = [];
  readonly releases = new Map<string, Buffer>();
  /** Release versions whose download never answers. */
  readonly hangReleases = new Set<string>();
  readonly commands: QueuedCommand[] = [];
  readonly results: Json[] = [];
  #polls = new Set<() => void>();
  #hung = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return this;
  }

  get revision(): string {
    const r = (this.config as { revision?: unknown } | null)?.revision;
    return typeof r === 'string' ? r : '';
  }

  /** Queues a command and wakes a waiting long poll. */
  enqueue(cmd: QueuedCommand): void {
    this.commands.push(cmd);
    for (const wake of this.#polls) wake();
  }

  workerBeats(): ReceivedBeat[] {
    return this.beats.filter((b) => b.body.source === 'worker');
  }

  daemonBeats(): ReceivedBeat[] {
    return this.beats.filter((b) => b.body.source === 'daemon');
  }

  async waitFor<T>(fn: () => T | undefined | false | null, timeoutMs = 30_000, what = 'condition'): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    for (const wake of this.#polls) wake();
    for (const res of this.#hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let buf = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') buf = gunzipSync(buf);
    return buf.length ? JSON.parse(buf.toString('utf8')) : undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'POST' && url.pathname === '/v1/heartbeats') {
      const body = (await this.#body(req)) as Json;
      this.beats.push({ at: Date.now(), body });
      json(202, { apiVersion: 'podpulse.io/v1', accepted: 1, duplicates: 0, configRevision: this.revision, commandsPending: this.commands.length > 0 });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/agent/config') {
      this.configRequests++;
      const text = JSON.stringify(this.config);
      const etag = `"${createHash('sha256').update(text).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag });
      res.end(text);
      return;
    }
    const rel = /^\/v1\/agent\/releases\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && rel) {
      const v = decodeURIComponent(rel[1]!);
      if (this.hangReleases.has(v)) {
        this.#hung.add(res);
        return;
      }
      const bundle = this.releases.get(v);
      if (!bundle) return json(404, { error: 'no such release' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bundle.length });
      res.end(bundle);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/v1/agent/commands') {
      const wait = Number(url.searchParams.get('wait') ?? 0) * 1000;
      if (this.commands.length === 0 && wait > 0) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            this.#polls.delete(done);
            resolve();
          };
          const t = setTimeout(done, wait);
          this.#polls.add(done);
          req.on('close', done);
        });
      }
      if (res.destroyed) return;
      json(200, { apiVersion: 'podpulse.io/v1', commands: this.commands.splice(0) });
      return;
    }
    const result = /^\/v1\/agent\/commands\/([^/]+)\/result$/.exec(url.pathname);
    if (req.method === 'POST' && result) {
      this.results.push((await this.#body(req)) as Json);
      json(202, { ok: true });
      return;
    }
    json(404, { error: `no route ${req.method} ${url.pathname}` });
  }
}
