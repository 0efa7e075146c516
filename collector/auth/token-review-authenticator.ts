import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { PodpulseError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import type { AgentIdentity, AuthResult, Authenticator } from './agent-identity.ts';
import { jwtExpiry } from './jwt-expiry.ts';
import { LruCache } from './lru-cache.ts';

export interface TokenReviewOptions {
  /** Kubeconfig file; in-cluster config (or $KUBECONFIG / ~/.kube/config) when unset. */
  kubeconfig?: string | undefined;
  /** The audience agent tokens are minted for. */
  audience?: string;
  /** Cached reviews, by token hash. */
  cacheSize?: number;
  /** Upper bound on caching one positive review, even when the token lives longer. */
  maxCacheMs?: number;
  /** How long a rejected token is remembered, so a client retrying a bad token does not load the apiserver. */
  negativeCacheMs?: number;
  timeoutMs?: number;
  log: Logger;
}

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';
const SA_USER = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([^:]+)$/;

interface ReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[] | undefined> };
}

/**
 * In a cluster: the sidecar's projected ServiceAccount token (audience `podpulse`) is checked with a TokenReview.
 * The pod identity comes from the review's `extra` fields, which the apiserver fills for pod-bound tokens. Answers
 * are cached by the token's sha256 until the token expires (bounded LRU), so a steady fleet costs the apiserver one
 * review per pod per token rotation, and concurrent requests with the same new token share one review.
 */
export class TokenReviewAuthenticator implements Authenticator {
  readonly mode = 'tokenreview' as const;
  readonly #opts: Required<Omit<TokenReviewOptions, 'kubeconfig'>>;
  readonly #url: URL;
  readonly #requestOptions: https.RequestOptions;
  readonly #cache: LruCache<AuthResult>;
  readonly #inflight = new Map<string, Promise<AuthResult>>();

  private constructor(url: URL, requestOptions: https.RequestOptions, opts: TokenReviewOptions) {
    this.#opts = { audience: 'podpulse', cacheSize: 20_000, maxCacheMs: 3_600_000, negativeCacheMs: 10_000, timeoutMs: 5_000, ...opts };
    this.#url = url;
    this.#requestOptions = requestOptions;
    this.#cache = new LruCache(this.#opts.cacheSize);
  }

  /** Reads the apiserver URL, CA and credentials from the kubeconfig (client-node applies exec/token/cert auth). */
  static async create(opts: TokenReviewOptions): Promise<TokenReviewAuthenticator> {
    const kc = new KubeConfig();
    try {
      if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
      else kc.loadFromDefault();
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_CONFIG_READ', `cannot load kubeconfig ${opts.kubeconfig ?? '(default)'}: ${(err as Error).message}`, { cause: err });
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new PodpulseError('PODPULSE_ERR_CONFIG_INVALID', `kubeconfig ${opts.kubeconfig ?? '(default)'} has no current cluster`);
    const url = new URL('/apis/authentication.k8s.io/v1/tokenreviews', cluster.server);
    const ro: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(ro);
    const AgentCtor = url.protocol === 'https:' ? https.Agent : http.Agent;
    ro.agent = new AgentCtor({ keepAlive: true, maxSockets: 16, ...(url.protocol === 'https:' ? { ca: ro.ca, cert: ro.cert, key: ro.key, rejectUnauthorized: ro.rejectUnauthorized } : {}) });
    return new TokenReviewAuthenticator(url, ro, opts);
  }

  async authenticate(token: string | undefined): Promise<AuthResult> {
    if (token === undefined) return { ok: false, reason: 'unauthenticated', message: 'missing bearer token' };
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.#cache.get(key);
    if (cached) return cached;
    let p = this.#inflight.get(key);
    if (!p) {
      p = this.#review(token, key).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p;
  }

  async #review(token: string, key: string): Promise<AuthResult> {
    const now = Date.now();
    let status: ReviewStatus;
    try {
      status = await this.#post(token);
    } catch (err) {
      this.#opts.log.warn({ err }, 'TokenReview failed; agent requests get 503 until the apiserver answers');
      return { ok: false, reason: 'unavailable', message: 'cannot verify the token now (TokenReview failed); retry later' };
    }
    const result = toResult(status, this.#opts.audience);
    const exp = jwtExpiry(token);
    const until = result.ok ? Math.min(exp ?? Infinity, now + this.#opts.maxCacheMs) : now + this.#opts.negativeCacheMs;
    if (until > now) this.#cache.set(key, result, until);
    return result;
  }

  #post(token: string): Promise<ReviewStatus> {
    const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.#opts.audience] } });
    const mod = this.#url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(this.#url, {
        ...this.#requestOptions,
        method: 'POST',
        headers: { ...this.#requestOptions.headers, 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: this.#opts.timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1 << 20) req.destroy(new Error('TokenReview answer larger than 1 MiB'));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode !== 200 && res.statusCode !== 201) return reject(new Error(`TokenReview answered HTTP ${res.statusCode}`));
          try {
            const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: ReviewStatus };
            resolve(doc.status ?? {});
          } catch (err) {
            reject(new Error(`TokenReview answer is not JSON: ${(err as Error).message}`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`TokenReview timed out after ${this.#opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): Promise<void> {
    (this.#requestOptions.agent as http.Agent | undefined)?.destroy();
    return Promise.resolve();
  }
}

function toResult(s: ReviewStatus, audience: string): AuthResult {
  if (!s.authenticated) return { ok: false, reason: 'unauthenticated', message: 'token rejected by TokenReview' };
  if (s.audiences && !s.audiences.includes(audience)) return { ok: false, reason: 'unauthenticated', message: `token is not for audience "${audience}"` };
  const m = SA_USER.exec(s.user?.username ?? '');
  const pod = s.user?.extra?.[POD_NAME]?.[0];
  const podUid = s.user?.extra?.[POD_UID]?.[0];
  if (!m || !pod || !podUid) return { ok: false, reason: 'unauthenticated', message: 'token is not a pod-bound ServiceAccount token (use a projected token)' };
  const identity: AgentIdentity = { subject: s.user!.username!, namespace: m[1]!, pod, podUid: podUid.toLowerCase() };
  return { ok: true, identity };
}
