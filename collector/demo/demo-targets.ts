import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Two local HTTP dependencies for the demo sidecar to probe: one healthy, one failing on purpose. */
export interface DemoTargets {
  /** Answers 200 with a small JSON body. */
  ordersUrl: string;
  /** Answers 503, as an upstream with no healthy backend would: the failure the demo shows. */
  paymentsUrl: string;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

export async function startDemoTargets(): Promise<DemoTargets> {
  const orders = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","service":"orders-api"}');
  });
  const payments = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('no healthy upstream');
  });
  const [o, p] = await Promise.all([listen(orders), listen(payments)]);
  const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));
  return {
    ordersUrl: `${o}/healthz`,
    paymentsUrl: `${p}/healthz`,
    close: async () => {
      orders.closeAllConnections();
      payments.closeAllConnections();
      await Promise.all([close(orders), close(payments)]);
    },
  };
}
