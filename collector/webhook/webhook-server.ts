import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Logger } from '../../src/log/logger.ts';
import type { MutateAnswer } from './mutate-handler.ts';

export interface WebhookServer {
  url: string;
  /** Swaps the certificate for new connections; open connections keep theirs. */
  setCertificate(cert: string, key: string): void;
  close(): Promise<void>;
}

// The apiserver caps an object at 3 MiB; a review carries the object (and for updates the old one too).
const BODY_LIMIT = 8 << 20;

/**
 * The TLS listener the apiserver calls: POST /admission/mutate (the apiserver appends `?timeout=5s`; routing is on
 * the path) and GET /healthz. Separate from the plain-HTTP agent/API port so that port needs no certificate and the
 * webhook's certificate can be replaced without touching agent traffic.
 */
export async function startWebhookServer(o: { host: string; port: number; cert: string; key: string; mutate: (body: unknown) => MutateAnswer; log: Logger }): Promise<WebhookServer> {
  const app = Fastify({
    logger: false,
    https: { cert: o.cert, key: o.key, minVersion: 'TLSv1.2' },
    bodyLimit: BODY_LIMIT,
    requestTimeout: 10_000,
    return503OnClosing: true,
  });
  const log = o.log.child({ component: 'webhook' });
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err, url: req.url.slice(0, 200) }, 'webhook request failed');
    return reply.code(status).send({ error: { code: status === 500 ? 'PODPULSE_ERR_INTERNAL' : 'PODPULSE_ERR_PROTOCOL', message: err.message, violations: [] } });
  });
  app.post('/admission/mutate', (req, reply) => {
    const a = o.mutate(req.body);
    if (a.status === 400) {
      log.warn({ violations: a.violations.slice(0, 5) }, 'malformed AdmissionReview');
      return reply.code(400).send({ error: { code: 'PODPULSE_ERR_PROTOCOL', message: 'malformed AdmissionReview', violations: a.violations } });
    }
    return reply.send(a.body);
  });
  app.get('/healthz', (_req, reply) => reply.send({ status: 'ok' }));
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `https://${host}:${addr.port}`,
    setCertificate: (cert, key) => {
      try {
        app.server.setSecureContext({ cert, key, minVersion: 'TLSv1.2' });
      } catch (err) {
        // A certificate and key from different renewals (files caught mid-update): keep the working pair.
        log.error({ err }, 'new webhook certificate rejected; serving the previous one');
      }
    },
    close: () => app.close(),
  };
}
