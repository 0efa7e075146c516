import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

/** A port on 127.0.0.1 where nothing listens: bound once to get a free number, then closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface BlackholeTarget {
  port: number;
  close(): Promise<void>;
}

// The listener lives in a thread that blocks itself right after listening: it never accepts, so the kernel's
// accept queue fills and further SYNs are dropped, as with a saturated or frozen server.
const LISTENER = `
const { createServer } = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const server = createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(new Int32Array(workerData), 0, 0);
  server.close();
});
`;

/**
 * A listener on 127.0.0.1 that never accepts, with its accept backlog already full: a connect to `port` gets no
 * SYN-ACK and hangs until the client gives up.
 */
export async function blackholeTarget(): Promise<BlackholeTarget> {
  const release = new SharedArrayBuffer(4);
  const worker = new Worker(LISTENER, { eval: true, workerData: release });
  const [port] = (await once(worker, 'message')) as [number];
  const fillers: Socket[] = [];
  // Linux queues backlog+1 connections; connect until one no longer completes, whatever the kernel's exact rule.
  for (let i = 0; i < 64; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    fillers.push(s);
    const connected = await Promise.race([once(s, 'connect').then(() => true), new Promise((r) => setTimeout(r, 300, false))]);
    if (!connected) break;
  }
  return {
    port,
    async close() {
      for (const s of fillers) s.destroy();
      Atomics.store(new Int32Array(release), 0, 1);
      Atomics.notify(new Int32Array(release), 0);
      await worker.terminate();
    },
  };
}

export interface ResetTarget {
  port: number;
  /**
   * Blocks this thread until the target has reset a connection (at most `timeoutMs`). Called right after a client
   * issues its connect, it keeps the event loop from seeing the handshake complete before the reset arrives, so
   * the connect itself fails with ECONNRESET. (On Linux a reset in SYN_SENT is ECONNREFUSED; a peer reset reaches
   * a connect only this way.)
   */
  blockUntilReset(timeoutMs?: number): void;
  close(): Promise<void>;
}

const RESETTER = `
const { createServer } = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData);
const server = createServer((s) => {
  s.on('close', () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); });
  s.resetAndDestroy();
});
server.listen({ port: 0, host: '127.0.0.1' }, () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => parentPort.close()));
`;

/** A listener on 127.0.0.1, in its own thread, that resets every connection it accepts. */
export async function resetTarget(): Promise<ResetTarget> {
  const shared = new SharedArrayBuffer(4);
  const flag = new Int32Array(shared);
  const worker = new Worker(RESETTER, { eval: true, workerData: shared });
  const [port] = (await once(worker, 'message')) as [number];
  return {
    port,
    blockUntilReset(timeoutMs = 5_000) {
      Atomics.wait(flag, 0, 0, timeoutMs);
      Atomics.store(flag, 0, 0);
    },
    async close() {
      await worker.terminate();
    },
  };
}
