import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';

export interface RawTcpServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP server on 127.0.0.1 that speaks no protocol: `hang` accepts and stays silent (a stuck peer: the client's
 * handshake or request never completes), `garbage` answers any bytes with plain text and closes (not TLS, not HTTP).
 */
export async function startRawTcpServer(mode: 'hang' | 'garbage'): Promise<RawTcpServer> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    if (mode === 'garbage') s.once('data', () => s.end('this is not the protocol you are looking for\r\n\r\n'));
  });
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
