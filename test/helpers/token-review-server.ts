import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** A pod identity a token proves. */
export interface PodToken {
  namespace: string;
  serviceAccount: string;
  pod: string;
  podUid: string;
  audiences?: string[];
}

export interface TokenReviewServer {
  url: string;
  /** A kubeconfig file pointing at this server, with the collector's own bearer token. */
  kubeconfig: string;
  /** TokenReviews answered so far. */
  reviews: number;
  /** Reviews refused because the collector's own credentials were wrong. */
  unauthorized: number;
  close(): Promise<void>;
}

const COLLECTOR_TOKEN = 'collector-sa-token';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

/**
 * A real HTTP server answering `POST /apis/authentication.k8s.io/v1/tokenreviews` as the apiserver does: 201 with
 * the TokenReview and its status; `authenticated: false` for unknown tokens or a wrong audience; pod-bound tokens
 * carry the pod name and uid in `user.extra`. Requests without the collector's own token get 401.
 */
export async function startTokenReviewServer(dir: string, tokens: Record<string, PodToken>): Promise<TokenReviewServer> {
  const state = { reviews: 0, unauthorized: 0 };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 404 }));
        return;
      }
      if (req.headers.authorization !== `Bearer ${COLLECTOR_TOKEN}`) {
        state.unauthorized++;
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 401, reason: 'Unauthorized' }));
        return;
      }
      state.reviews++;
      const review = JSON.parse(body) as { spec: { token: string; audiences?: string[] } };
      const t = tokens[review.spec.token];
      const wanted = review.spec.audiences ?? [];
      const audiences = t?.audiences ?? ['podpulse'];
      const ok = !!t && wanted.every((a) => audiences.includes(a));
      const status = ok
        ? {
            authenticated: true,
            audiences: wanted,
            user: {
              username: `system:serviceaccount:${t.namespace}:${t.serviceAccount}`,
              uid: 'sa-uid',
              groups: ['system:serviceaccounts', `system:serviceaccounts:${t.namespace}`, 'system:authenticated'],
              extra: { 'authentication.kubernetes.io/pod-name': [t.pod], 'authentication.kubernetes.io/pod-uid': [t.podUid] },
            },
          }
        : { authenticated: false, error: '[invalid bearer token, token lookup failed]' };
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: review.spec, status }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: test',
    // client-node refuses a plain-http server unless TLS verification is declared off (there is no TLS to verify).
    'clusters:', '- name: test', '  cluster:', `    server: ${url}`, '    insecure-skip-tls-verify: true',
    'users:', '- name: collector', '  user:', `    token: ${COLLECTOR_TOKEN}`,
    'contexts:', '- name: test', '  context:', '    cluster: test', '    user: collector',
  ].join('\n'));
  return {
    url,
    kubeconfig,
    get reviews() { return state.reviews; },
    get unauthorized() { return state.unauthorized; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A JWT-shaped token (unsigned) with an `exp`, as a projected token looks to the collector's cache. */
export function fakeJwt(sub: string, expSeconds: number): string {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b({ alg: 'RS256', kid: 'k' })}.${b({ sub, aud: ['podpulse'], exp: expSeconds })}.c2ln`;
}
