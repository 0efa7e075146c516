import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 in front of a real server. `close()` cuts every connection through it and refuses
 * new ones until `open()`: a network partition between one client and the apiserver, while everyone else still
 * reaches it. TLS passes through untouched (same IP, so the server certificate still matches).
 */
export class TcpGate {
  readonly #server: Server;
  readonly #conns: Set<Socket>;
  readonly #state: { open: boolean };
  port = 0;

  private constructor(server: Server, conns: Set<Socket>, state: { open: boolean }) {
    this.#server = server;
    this.#conns = conns;
    this.#state = state;
  }

  static async start(targetPort: number): Promise<TcpGate> {
    const conns = new Set<Socket>();
    const state = { open: true };
    const server = createServer((client) => {
      if (!state.open) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, '127.0.0.1');
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        a.pipe(b);
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
      }
      conns.add(client).add(upstream);
      client.on('close', () => conns.delete(client));
      upstream.on('close', () => conns.delete(upstream));
    });
    const gate = new TcpGate(server, conns, state);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gate.port = (server.address() as AddressInfo).port;
    return gate;
  }

  close(): void {
    this.#state.open = false;
    for (const s of this.#conns) s.destroy();
  }

  open(): void {
    this.#state.open = true;
  }

  async stop(): Promise<void> {
    this.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
