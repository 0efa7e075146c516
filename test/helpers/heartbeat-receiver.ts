import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { API_VERSION } from '../../src/protocol/common.ts';
import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { parseHeartbeatPayload } from '../../src/protocol/parse.ts';

/** One request the receiver got, valid or not. */
export interface ReceivedRequest {
  at: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Size on the wire (compressed when gzip). */
  wireBytes: number;
  status: number;
  heartbeats: Heartbeat[];
  batch: boolean;
  error?: string;
}

/** An override for the answer: return a status (and headers/body) to answer with it instead of the default 202. */
export type Responder = (req: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string } | undefined;

/**
 * A real HTTP collector stand-in for tests: records every `POST /v1/heartbeats` (one or a batch, gzip or not),
 * validates it with the protocol, answers 202 with a valid HeartbeatAck (dedup on pod uid + boot id + seq), and can
 * be stopped and restarted on the same port to simulate an outage.
 */
export class HeartbeatReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Every heartbeat accepted, in arrival order, duplicates included, with the time it arrived. */
  readonly received: Array<{ at: number; hb: Heartbeat }> = [];
  configRevision = '1';
  commandsPending = false;
  respond: Responder | undefined;
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  #port = 0;
  readonly #seen = new Set<string>();

  static async start(opts: { port?: number; respond?: Responder } = {}): Promise<HeartbeatReceiver> {
    const r = new HeartbeatReceiver();
    r.respond = opts.respond;
    r.#port = opts.port ?? 0;
    await r.restart();
    return r;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Unique heartbeats (by pod uid, boot id and seq), first arrival kept. */
  unique(): Heartbeat[] {
    const seen = new Set<string>();
    const out: Heartbeat[] = [];
    for (const { hb } of this.received) {
      const k = `${hb.instance.podUid}/${hb.bootId}/${hb.seq}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push(hb);
      }
    }
    return out;
  }

  /** Listens again (on the same port after a stop). */
  async restart(): Promise<void> {
    if (this.#server) return;
    const server = createServer((req, res) => void this.#handle(req).then(({ status, headers, body }) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body)));
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Closes the listener and every open connection (keep-alive ones too), so clients see refused connections. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `pred` holds, polling every 50 ms; rejects after `timeoutMs`. */
  async waitFor(pred: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async #handle(req: IncomingMessage): Promise<{ status: number; headers?: Record<string, string>; body: string }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const wire = Buffer.concat(chunks);
    const rec: ReceivedRequest = { at: Date.now(), method: req.method ?? '', url: req.url ?? '', headers: req.headers, wireBytes: wire.length, status: 0, heartbeats: [], batch: false };
    this.requests.push(rec);
    const override = this.respond?.(req);
    if (override) {
      rec.status = override.status;
      return { status: override.status, ...(override.headers ? { headers: override.headers } : {}), body: override.body ?? '{}' };
    }
    if (req.method !== 'POST' || req.url !== '/v1/heartbeats') {
      rec.status = 404;
      return { status: 404, body: '{"error":"not found"}' };
    }
    let payload: unknown;
    try {
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire).toString('utf8');
      payload = JSON.parse(text);
    } catch (err) {
      rec.status = 400;
      rec.error = (err as Error).message;
      return { status: 400, body: JSON.stringify({ error: rec.error }) };
    }
    const parsed = parseHeartbeatPayload(payload);
    if (!parsed.ok) {
      rec.status = 400;
      rec.error = parsed.error.message;
      return { status: 400, body: JSON.stringify({ error: rec.error }) };
    }
    rec.heartbeats = parsed.value.heartbeats;
    rec.batch = parsed.value.batch;
    let accepted = 0;
    let duplicates = 0;
    for (const hb of parsed.value.heartbeats) {
      this.received.push({ at: rec.at, hb });
      const k = `${hb.instance.podUid}/${hb.bootId}/${hb.seq}`;
      if (this.#seen.has(k)) duplicates++;
      else {
        this.#seen.add(k);
        accepted++;
      }
    }
    rec.status = 202;
    return { status: 202, body: JSON.stringify({ apiVersion: API_VERSION, accepted, duplicates, configRevision: this.configRevision, commandsPending: this.commandsPending }) };
  }
}
