import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestCerts, type TestCerts } from '../tls-certs.ts';
import { ObjectStore, type Change } from './object-store.ts';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import { apiVersionOf, parsePath, resourceById, resourceId, type FakeResource } from './resource-registry.ts';
import { both, fieldSelector, labelSelector } from './selectors.ts';
import { ApiError, sendJson, sendStatus, statusObject } from './status.ts';
import { WatchConnection } from './watch-connection.ts';

type Obj = Record<string, unknown>;

export interface TokenReviewSpec {
  token: string;
  audiences?: string[];
}

export interface FakeKubeOptions {
  /** Serve HTTPS with a test CA (default) or plain HTTP. */
  tls?: boolean;
  /** Support streaming lists (`sendInitialEvents`, Kubernetes ≥ 1.27); when false, answer 422 as v1.20 does. */
  streamingList?: boolean;
  /** How a watch from a compacted resourceVersion fails: in-stream ERROR event (default) or HTTP 410. */
  tooOldWatch?: 'event' | 'status';
  /** Periodic BOOKMARK interval for watches that ask for bookmarks; 0 = only on demand. */
  bookmarkIntervalMs?: number;
  /** A continue token older than this expires (410), like one whose revision etcd compacted. */
  continueTtlMs?: number;
  /** Changes kept for watches and exact lists; older ones are compacted. */
  historyLimit?: number;
  /** Answers TokenReviews; the default authenticates nothing. */
  tokenReview?: (spec: TokenReviewSpec) => Obj;
}

/** What one request was, for tests that count or inspect them. */
export interface RequestRecord {
  verb: 'list' | 'watch' | 'get' | 'create' | 'update' | 'patch' | 'delete' | 'tokenreview';
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
  status: number;
}

interface ListSnapshot {
  rv: number;
  items: [string, string][];
  createdAt: number;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function meta(o: Obj): Obj {
  if (typeof o.metadata !== 'object' || o.metadata === null) o.metadata = {};
  return o.metadata as Obj;
}

function keyOf(r: FakeResource, namespace: string | undefined, name: string): string {
  return r.namespaced ? `${namespace}/${name}` : name;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function writeAsync(res: ServerResponse, s: string): Promise<void> {
  return res.write(s) ? Promise.resolve() : new Promise((resolve) => res.once('drain', () => resolve()));
}

/**
 * A fake kube-apiserver: a real HTTP(S) server that `@kubernetes/client-node` (or any client) reaches through the
 * kubeconfig it writes. It keeps the API semantics the engine relies on (one global resourceVersion, paginated
 * lists with expiring continue tokens, NDJSON watches with bookmarks and both forms of 410, streaming lists,
 * status subresource, finalizers, optimistic concurrency) and lets tests script the rest.
 */
export class FakeKubeApiserver {
  readonly store: ObjectStore;
  readonly options: Required<Omit<FakeKubeOptions, 'tls' | 'historyLimit'>>;
  readonly token = `fake-${randomBytes(12).toString('hex')}`;
  readonly requests: RequestRecord[] = [];
  url = '';
  kubeconfigPath = '';
  caFile: string | undefined;
  /** When set, every new watch ends right after its headers (servers or proxies that cut watches at once). */
  endWatchesAtOnce = false;
  /** When set, requests are recorded and then never answered (a hung apiserver or a black-holed connection). */
  stallRequests = false;
  /** Called for each API request before it is answered: tests script races here (expire a token between pages). */
  onRequest: ((r: RequestRecord) => void) | undefined;
  readonly #server: Server;
  readonly #watches = new Set<WatchConnection>();
  readonly #sockets = new Set<Socket>();
  readonly #snapshots = new Map<string, ListSnapshot>();
  #dir = '';
  #certs: TestCerts | undefined;

  private constructor(server: Server, opts: FakeKubeOptions, certs: TestCerts | undefined) {
    this.#server = server;
    this.#certs = certs;
    this.caFile = certs?.caFile;
    this.store = new ObjectStore(opts.historyLimit);
    this.options = {
      streamingList: opts.streamingList ?? true,
      tooOldWatch: opts.tooOldWatch ?? 'event',
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
      continueTtlMs: opts.continueTtlMs ?? 300_000,
      tokenReview: opts.tokenReview ?? ((spec) => ({ authenticated: false, error: `[invalid bearer token] ${spec.token ? 'unknown token' : 'empty token'}` })),
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res));
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  static async start(opts: FakeKubeOptions = {}): Promise<FakeKubeApiserver> {
    const certs = opts.tls === false ? undefined : await generateTestCerts();
    const server = certs ? createHttpsServer({ key: certs.valid.key, cert: certs.valid.cert }) : createHttpServer();
    const fake = new FakeKubeApiserver(server, opts, certs);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    fake.url = `${certs ? 'https' : 'http'}://127.0.0.1:${port}`;
    fake.#dir = await mkdtemp(join(tmpdir(), 'fake-kube-'));
    fake.kubeconfigPath = join(fake.#dir, 'kubeconfig');
    await writeFile(fake.kubeconfigPath, fake.kubeconfig());
    return fake;
  }

  /** A kubeconfig (YAML) for this server with its bearer token; `token` overrides it (to test refusals). */
  kubeconfig(token = this.token): string {
    const ca = this.caFile ? `\n    certificate-authority: ${this.caFile}` : '';
    return `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${this.url}${ca}
users:
- name: fake
  user:
    token: ${token}
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
current-context: fake
`;
  }

  // ---- scripting -------------------------------------------------------------------------------------------

  /** Current (newest) resourceVersion. */
  get rv(): number {
    return this.store.rv;
  }

  create(resource: string, obj: Obj): Obj {
    const r = resourceById(resource);
    return this.#create(r, meta(obj).namespace as string | undefined, structuredClone(obj));
  }

  get(resource: string, namespace: string | undefined, name: string): Obj | undefined {
    const r = resourceById(resource);
    return this.store.get(resource, keyOf(r, namespace, name));
  }

  /** Replaces the object (status included, like a controller writing both); no resourceVersion precondition. */
  update(resource: string, obj: Obj): Obj {
    const r = resourceById(resource);
    const m = meta(obj);
    const copy = structuredClone(obj);
    delete meta(copy).resourceVersion;
    return this.#update(r, m.namespace as string | undefined, m.name as string, copy, 'all');
  }

  /** Strategic-merge-patches the object (status included). */
  patch(resource: string, namespace: string | undefined, name: string, patch: Obj): Obj {
    const r = resourceById(resource);
    const old = this.store.get(resource, keyOf(r, namespace, name));
    if (!old) throw new ApiError(404, `${r.plural} "${name}" not found`);
    return this.#update(r, namespace, name, strategicMergePatch(old, patch) as Obj, 'all');
  }

  delete(resource: string, namespace: string | undefined, name: string): Obj {
    return this.#delete(resourceById(resource), namespace, name);
  }

  /** Writes many objects at once without history (as if they existed before the oldest revision kept). */
  seed(resource: string, objs: Iterable<Obj>): void {
    const r = resourceById(resource);
    for (const obj of objs) {
      const m = meta(obj);
      m.uid ??= randomUUID();
      m.creationTimestamp ??= now();
      obj.kind = r.kind;
      obj.apiVersion = apiVersionOf(r);
      this.store.write(resource, keyOf(r, m.namespace as string | undefined, m.name as string), obj, 'ADDED', false);
    }
  }

  /** Forgets history up to now (etcd compaction); watches from older revisions then get 410. */
  compact(): void {
    this.store.compact();
  }

  /** Makes every outstanding continue token expire (410 Expired on its next page). */
  expireContinueTokens(): void {
    this.#snapshots.clear();
  }

  /** Cuts open watches (of one resource, or all) mid-stream. Returns how many were cut. */
  dropWatches(resource?: string): number {
    let n = 0;
    for (const w of [...this.#watches]) {
      if (resource && w.resource !== resource) continue;
      w.drop();
      n++;
    }
    return n;
  }

  /** Ends open watches cleanly, as at their timeoutSeconds. */
  endWatches(resource?: string): void {
    for (const w of [...this.#watches]) if (!resource || w.resource === resource) w.end();
  }

  /** Writes a raw line (malformed JSON, say) into every open watch of the resource. */
  injectWatchLine(resource: string, line: string): void {
    for (const w of this.#watches) if (w.resource === resource) w.writeLine(line);
  }

  /** Sends a BOOKMARK at the current resourceVersion to every open watch of the resource that asked for them. */
  sendBookmarks(resource: string): void {
    for (const w of this.#watches) if (w.resource === resource && w.query.get('allowWatchBookmarks') === 'true') w.sendBookmark(this.store.rv);
  }

  /** Sends an in-stream 410 ERROR to open watches and ends them (the apiserver's answer when its window moved on). */
  expireWatches(resource: string): void {
    for (const w of [...this.#watches]) {
      if (w.resource !== resource) continue;
      w.sendError(statusObject(410, `too old resource version: ${w.query.get('resourceVersion') ?? ''} (${this.store.rv})`, 'Expired'));
      w.end();
    }
  }

  openWatches(resource?: string): number {
    let n = 0;
    for (const w of this.#watches) if (!resource || w.resource === resource) n++;
    return n;
  }

  count(verb: RequestRecord['verb'], resource?: string): number {
    return this.requests.filter((r) => r.verb === verb && (!resource || r.resource === resource)).length;
  }

  async close(): Promise<void> {
    for (const w of [...this.#watches]) w.drop();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
    await this.#certs?.cleanup();
  }

  #record(r: RequestRecord): void {
    this.requests.push(r);
    this.onRequest?.(r);
  }

  // ---- semantics --------------------------------------------------------------------------------------------

  #create(r: FakeResource, namespace: string | undefined, obj: Obj): Obj {
    const m = meta(obj);
    if (r.namespaced) {
      if (m.namespace !== undefined && m.namespace !== namespace) throw new ApiError(400, 'the namespace of the provided object does not match the namespace sent on the request');
      if (!namespace) throw new ApiError(400, 'namespace is required');
      m.namespace = namespace;
    }
    if (!m.name && typeof m.generateName === 'string') m.name = m.generateName + randomBytes(3).toString('hex').slice(0, 5);
    if (typeof m.name !== 'string' || !m.name) throw new ApiError(422, `${r.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    const key = keyOf(r, namespace, m.name);
    if (this.store.getJson(resourceId(r), key) !== undefined) throw new ApiError(409, `${r.plural} "${m.name}" already exists`, 'AlreadyExists');
    m.uid = randomUUID();
    m.creationTimestamp = now();
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    if (r.plural !== 'pods') m.generation = 1;
    obj.kind = r.kind;
    obj.apiVersion = apiVersionOf(r);
    return this.store.write(resourceId(r), key, obj, 'ADDED');
  }

  /** `part`: 'main' ignores status (resources with a status subresource), 'status' changes only status. */
  #update(r: FakeResource, namespace: string | undefined, name: string, candidate: Obj, part: 'main' | 'status' | 'all'): Obj {
    const id = resourceId(r);
    const key = keyOf(r, namespace, name);
    const oldJson = this.store.getJson(id, key);
    if (oldJson === undefined) throw new ApiError(404, `${r.plural} "${name}" not found`);
    const old = JSON.parse(oldJson) as Obj;
    const om = meta(old);
    const cm = meta(candidate);
    if (cm.resourceVersion !== undefined && cm.resourceVersion !== '' && cm.resourceVersion !== om.resourceVersion) {
      throw new ApiError(409, `Operation cannot be fulfilled on ${r.plural}${r.group ? `.${r.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`, 'Conflict');
    }
    if (cm.name !== undefined && cm.name !== name) throw new ApiError(400, `the name of the object (${JSON.stringify(cm.name)}) does not match the name on the URL (${name})`);
    let next: Obj;
    if (part === 'status') next = { ...old, status: candidate.status };
    else {
      next = { ...candidate, kind: r.kind, apiVersion: apiVersionOf(r) };
      if (part === 'main' && r.status) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
      const nm: Obj = { ...cm };
      for (const f of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) {
        if (om[f] === undefined) delete nm[f];
        else nm[f] = om[f];
      }
      if (om.generation !== undefined && JSON.stringify(old.spec) !== JSON.stringify(next.spec)) nm.generation = (om.generation as number) + 1;
      next.metadata = nm;
    }
    const nm = meta(next);
    nm.resourceVersion = om.resourceVersion;
    if (om.deletionTimestamp && (!Array.isArray(nm.finalizers) || nm.finalizers.length === 0)) {
      return this.store.remove(id, key)!;
    }
    if (JSON.stringify(next) === oldJson) return old;
    return this.store.write(id, key, next, 'MODIFIED');
  }

  #delete(r: FakeResource, namespace: string | undefined, name: string): Obj {
    const id = resourceId(r);
    const key = keyOf(r, namespace, name);
    const old = this.store.get(id, key);
    if (!old) throw new ApiError(404, `${r.plural} "${name}" not found`);
    const m = meta(old);
    if (Array.isArray(m.finalizers) && m.finalizers.length > 0) {
      if (m.deletionTimestamp) return old;
      m.deletionTimestamp = now();
      m.deletionGracePeriodSeconds = 0;
      return this.store.write(id, key, old, 'MODIFIED');
    }
    return this.store.remove(id, key)!;
  }

  // ---- HTTP -------------------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const record: RequestRecord = { verb: 'get', resource: '', query: url.searchParams, status: 200 };
    res.on('finish', () => (record.status = res.statusCode));
    try {
      if (req.headers.authorization !== `Bearer ${this.token}`) throw new ApiError(401, 'Unauthorized');
      if (this.stallRequests) {
        this.#record({ ...record, resource: url.pathname });
        return;
      }
      const body = req.method === 'GET' || req.method === 'DELETE' ? '' : await readBody(req);
      if (req.method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews') {
        record.verb = 'tokenreview';
        this.#record(record);
        const review = JSON.parse(body) as { spec: TokenReviewSpec };
        sendJson(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: review.spec, status: this.options.tokenReview(review.spec) });
        return;
      }
      const p = parsePath(url.pathname);
      if (!p) throw new ApiError(404, `the server could not find the requested resource (${url.pathname})`);
      Object.assign(record, { resource: resourceId(p.resource), namespace: p.namespace, name: p.name, subresource: p.subresource });
      if (p.subresource !== undefined && (p.subresource !== 'status' || !p.resource.status)) throw new ApiError(404, `the server could not find the requested resource (${url.pathname})`);
      const q = url.searchParams;
      const r = p.resource;
      if (req.method === 'GET' && p.name === undefined) {
        const watch = q.get('watch') === 'true' || q.get('watch') === '1';
        record.verb = watch ? 'watch' : 'list';
        this.#record(record);
        if (watch) this.#watch(res, r, p.namespace, q);
        else await this.#list(res, r, p.namespace, q);
        return;
      }
      const parse = (): Obj => {
        try {
          return JSON.parse(body) as Obj;
        } catch {
          throw new ApiError(400, 'the request body is not valid JSON');
        }
      };
      let out: Obj;
      if (req.method === 'POST' && p.name === undefined) {
        record.verb = 'create';
        this.#record(record);
        out = this.#create(r, p.namespace, parse());
        sendJson(res, 201, out);
        return;
      }
      if (p.name === undefined) throw new ApiError(405, `method ${req.method} not allowed on a collection`, 'MethodNotAllowed');
      const part = p.subresource === 'status' ? 'status' : 'main';
      switch (req.method) {
        case 'GET': {
          record.verb = 'get';
          this.#record(record);
          const o = this.store.get(resourceId(r), keyOf(r, p.namespace, p.name));
          if (!o) throw new ApiError(404, `${r.plural} "${p.name}" not found`);
          out = o;
          break;
        }
        case 'PUT':
          record.verb = 'update';
          this.#record(record);
          out = this.#update(r, p.namespace, p.name, parse(), part);
          break;
        case 'PATCH': {
          record.verb = 'patch';
          this.#record(record);
          const old = this.store.get(resourceId(r), keyOf(r, p.namespace, p.name));
          if (!old) throw new ApiError(404, `${r.plural} "${p.name}" not found`);
          const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
          let patched: unknown;
          try {
            if (ct === 'application/merge-patch+json') patched = mergePatch(old, parse());
            else if (ct === 'application/strategic-merge-patch+json') patched = strategicMergePatch(old, parse());
            else if (ct === 'application/json-patch+json') patched = jsonPatch(old, parse());
            else throw new ApiError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`, 'UnsupportedMediaType');
          } catch (e) {
            if (e instanceof ApiError) throw e;
            throw new ApiError(422, (e as Error).message);
          }
          out = this.#update(r, p.namespace, p.name, patched as Obj, part);
          break;
        }
        case 'DELETE':
          record.verb = 'delete';
          this.#record(record);
          out = this.#delete(r, p.namespace, p.name);
          break;
        default:
          throw new ApiError(405, `method ${req.method ?? ''} not allowed`, 'MethodNotAllowed');
      }
      sendJson(res, 200, out);
    } catch (e) {
      if (!record.resource && record.verb === 'get') this.#record(record);
      if (e instanceof ApiError) sendStatus(res, e.code, e.message, e.reason);
      else if (!res.headersSent) sendStatus(res, 500, (e as Error).message);
      else res.destroy();
    }
  }

  #selector(q: URLSearchParams): ReturnType<typeof both> {
    try {
      return both(labelSelector(q.get('labelSelector')), fieldSelector(q.get('fieldSelector')));
    } catch (e) {
      throw new ApiError(400, (e as Error).message);
    }
  }

  async #list(res: ServerResponse, r: FakeResource, namespace: string | undefined, q: URLSearchParams): Promise<void> {
    const id = resourceId(r);
    const limit = Number(q.get('limit') ?? 0);
    if (!Number.isInteger(limit) || limit < 0) throw new ApiError(400, `limit: Invalid value: ${q.get('limit')}`);
    let snap: ListSnapshot;
    let offset = 0;
    const cont = q.get('continue');
    if (cont) {
      let token: { id: string; off: number };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { id: string; off: number };
      } catch {
        throw new ApiError(400, 'continue key is not valid');
      }
      const s = this.#snapshots.get(token.id);
      if (!s || s.rv < this.store.compactedRev || Date.now() - s.createdAt > this.options.continueTtlMs) {
        this.#snapshots.delete(token.id);
        throw new ApiError(410, 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.', 'Expired');
      }
      snap = s;
      offset = token.off;
    } else {
      const match = q.get('resourceVersionMatch');
      const rvParam = q.get('resourceVersion') ?? '';
      let entries: [string, string][];
      let rv = this.store.rv;
      if (match === 'Exact') {
        const at = Number(rvParam);
        if (!rvParam || !Number.isInteger(at)) throw new ApiError(422, 'resourceVersionMatch: Forbidden: resourceVersionMatch "Exact" is forbidden for resourceVersion ""', 'Invalid');
        const got = this.store.entriesAt(id, at);
        if (got === 'expired') throw new ApiError(410, `too old resource version: ${at} (${this.store.compactedRev})`, 'Expired');
        entries = got;
        rv = at;
      } else if (match && match !== 'NotOlderThan') throw new ApiError(422, `resourceVersionMatch: Unsupported value: "${match}"`, 'Invalid');
      else entries = this.store.entries(id);
      const sel = this.#selector(q);
      const prefix = namespace === undefined ? undefined : `${namespace}/`;
      if (prefix || sel) entries = entries.filter(([k, j]) => (!prefix || k.startsWith(prefix)) && (!sel || sel(JSON.parse(j) as Obj)));
      snap = { rv, items: entries, createdAt: Date.now() };
    }
    const end = limit > 0 ? Math.min(offset + limit, snap.items.length) : snap.items.length;
    const metadata: Obj = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      const tokenId = randomBytes(8).toString('hex');
      this.#snapshots.set(tokenId, snap);
      metadata.continue = Buffer.from(JSON.stringify({ id: tokenId, off: end })).toString('base64url');
      metadata.remainingItemCount = snap.items.length - end;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    await writeAsync(res, `{"kind":"${r.kind}List","apiVersion":"${apiVersionOf(r)}","metadata":${JSON.stringify(metadata)},"items":[`);
    for (let i = offset; i < end; i += 500) {
      const chunk = snap.items.slice(i, Math.min(i + 500, end)).map((e) => e[1]);
      await writeAsync(res, (i > offset ? ',' : '') + chunk.join(','));
    }
    res.end(']}');
  }

  #watch(res: ServerResponse, r: FakeResource, namespace: string | undefined, q: URLSearchParams): void {
    const id = resourceId(r);
    const match = q.get('resourceVersionMatch');
    const wantsInitial = q.get('sendInitialEvents') === 'true';
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    if (!this.options.streamingList && match) throw new ApiError(422, 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch', 'Invalid');
    const streaming = this.options.streamingList && wantsInitial;
    if (streaming && (match !== 'NotOlderThan' || !bookmarks)) {
      throw new ApiError(422, 'sendInitialEvents: Forbidden: sendInitialEvents is allowed only with resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true', 'Invalid');
    }
    if (this.options.streamingList && match && !wantsInitial) throw new ApiError(422, 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided', 'Invalid');
    const sel = this.#selector(q);
    const rvParam = q.get('resourceVersion') ?? '';
    let replay: Change[] | undefined;
    if (!streaming && rvParam !== '' && rvParam !== '0') {
      const from = Number(rvParam);
      if (!Number.isInteger(from) || from < 0) throw new ApiError(400, `resourceVersion: Invalid value: "${rvParam}"`, 'BadRequest');
      const changes = this.store.changesAfter(id, from);
      if (changes === 'expired') {
        const status = statusObject(410, `too old resource version: ${rvParam} (${this.store.compactedRev + 1})`, 'Expired');
        if (this.options.tooOldWatch === 'status') {
          sendJson(res, 410, status);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
        return;
      }
      replay = changes;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    if (this.endWatchesAtOnce) {
      res.end();
      return;
    }
    const w = new WatchConnection(res, id, r.kind, apiVersionOf(r), q, namespace, sel);
    this.#watches.add(w);
    if (streaming) {
      w.sendInitial(this.store.entries(id));
      w.sendBookmark(this.store.rv, true);
    } else if (replay === undefined) w.sendInitial(this.store.entries(id));
    else for (const c of replay) w.send(c);
    const unsubscribe = this.store.subscribe((c) => w.send(c));
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks && this.options.bookmarkIntervalMs > 0) timers.push(setInterval(() => w.sendBookmark(this.store.rv), this.options.bookmarkIntervalMs));
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) timers.push(setTimeout(() => w.end(), timeout * 1000));
    w.onClose(() => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.#watches.delete(w);
    });
  }
}
