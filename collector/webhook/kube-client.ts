import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { PodpulseError } from '../../src/errors.ts';

/** One kind of Kubernetes API request, as RBAC sees it: the RBAC test compares these with the manifests' rules. */
export interface KubeAccess {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  /** API group; '' is the core group. */
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
}

/** Every API request the webhook part of the collector makes. */
export const WEBHOOK_KUBE_ACCESS = {
  getSecret: { verb: 'get', group: '', version: 'v1', resource: 'secrets', namespaced: true },
  updateSecret: { verb: 'update', group: '', version: 'v1', resource: 'secrets', namespaced: true },
  getWebhookConfiguration: { verb: 'get', group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations', namespaced: false },
  patchWebhookConfiguration: { verb: 'patch', group: 'admissionregistration.k8s.io', version: 'v1', resource: 'mutatingwebhookconfigurations', namespaced: false },
  listNamespaces: { verb: 'list', group: '', version: 'v1', resource: 'namespaces', namespaced: false },
  listPods: { verb: 'list', group: '', version: 'v1', resource: 'pods', namespaced: true },
} as const satisfies Record<string, KubeAccess>;

export interface KubeRequest {
  namespace?: string;
  name?: string;
  query?: Record<string, string>;
  body?: unknown;
  /** For patch: the patch content type. */
  patchType?: 'application/json-patch+json' | 'application/merge-patch+json';
}

export interface KubeResponse<T> {
  status: number;
  body: T;
}

const METHOD: Record<KubeAccess['verb'], string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE' };
const MAX_ANSWER = 64 << 20;

/**
 * A small JSON client for the few API calls the webhook makes: each request names its KubeAccess, so what the code
 * calls is listed in one place. Credentials come from a kubeconfig (client-node applies token, certificate or exec
 * auth), or the in-cluster ServiceAccount when none is given.
 */
export class KubeClient {
  readonly server: URL;
  readonly #options: https.RequestOptions;

  private constructor(server: URL, options: https.RequestOptions) {
    this.server = server;
    this.#options = options;
  }

  static async fromKubeconfig(path: string | undefined): Promise<KubeClient> {
    const kc = new KubeConfig();
    try {
      if (path) kc.loadFromFile(path);
      else kc.loadFromDefault();
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_CONFIG_READ', `cannot load kubeconfig ${path ?? '(default)'}: ${(err as Error).message}`, { cause: err });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new PodpulseError('PODPULSE_ERR_CONFIG_INVALID', `kubeconfig ${path ?? '(default)'} has no current cluster`);
    const ro: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(ro);
    const server = new URL(cluster.server);
    const Agent = server.protocol === 'https:' ? https.Agent : http.Agent;
    ro.agent = new Agent({ keepAlive: true, maxSockets: 4, ...(server.protocol === 'https:' ? { ca: ro.ca, cert: ro.cert, key: ro.key, rejectUnauthorized: ro.rejectUnauthorized } : {}) });
    return new KubeClient(server, ro);
  }

  /** The URL path of a request: /api/v1/namespaces/NS/secrets/NAME, /apis/GROUP/VERSION/RESOURCE, ... */
  static path(a: KubeAccess, r: KubeRequest): string {
    const base = a.group === '' ? `/api/${a.version}` : `/apis/${a.group}/${a.version}`;
    const ns = a.namespaced && r.namespace !== undefined ? `/namespaces/${encodeURIComponent(r.namespace)}` : '';
    const name = r.name !== undefined ? `/${encodeURIComponent(r.name)}` : '';
    const q = r.query && Object.keys(r.query).length > 0 ? `?${new URLSearchParams(r.query).toString()}` : '';
    return `${base}${ns}/${a.resource}${name}${q}`;
  }

  /** Sends one request; any HTTP status is returned (the caller decides what 404 or 409 means), transport errors throw. */
  call<T>(access: KubeAccess, r: KubeRequest = {}, timeoutMs = 10_000): Promise<KubeResponse<T>> {
    const url = new URL(KubeClient.path(access, r), this.server);
    const body = r.body === undefined ? undefined : JSON.stringify(r.body);
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { ...(this.#options.headers as Record<string, string>), accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = access.verb === 'patch' ? (r.patchType ?? 'application/merge-patch+json') : 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...this.#options, method: METHOD[access.verb], headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER) req.destroy(new Error(`answer of ${access.verb} ${access.resource} larger than ${MAX_ANSWER} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Non-JSON answers (a proxy's error page) are returned as text.
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${access.verb} ${access.resource} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** GET /version (open to every authenticated user through system:public-info-viewer). */
  async version(): Promise<{ major: string; minor: string; gitVersion: string }> {
    const url = new URL('/version', this.server);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...this.#options, method: 'GET', timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { major: string; minor: string; gitVersion: string });
          } catch (err) {
            reject(new Error(`GET /version failed: ${(err as Error).message}`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('GET /version timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    (this.#options.agent as http.Agent | undefined)?.destroy();
  }
}

/** A short description of a failed API answer for errors and logs. */
export function apiError(what: string, r: KubeResponse<unknown>): Error {
  const msg = r.body && typeof r.body === 'object' && 'message' in r.body ? String(r.body.message) : String(r.body).slice(0, 200);
  return new Error(`${what}: HTTP ${r.status}: ${msg}`);
}
