import { once } from 'node:events';
import { createServer, type TLSSocket } from 'node:tls';
import type { TestCert } from './tls-certs.ts';

export interface TlsServer {
  port: number;
  close(): Promise<void>;
}

/** A TLS server on 127.0.0.1 presenting `cert`; it completes the handshake and closes. */
export async function startTlsServer(cert: TestCert): Promise<TlsServer> {
  const sockets = new Set<TLSSocket>();
  const server = createServer({ key: cert.key, cert: cert.cert }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.end();
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
