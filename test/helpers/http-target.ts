import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TestCert } from './tls-certs.ts';

export interface HttpTarget {
  port: number;
  /** `http(s)://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** The fixed JSON document `/json` serves. */
export const JSON_DOC = { status: { db: 'up', replicas: 3, ready: true }, items: [{ name: 'first' }], nothing: null };

/**
 * An HTTP (or, given a certificate, HTTPS) server on 127.0.0.1 whose paths are the behaviours a check meets:
 * `/ok`, `/status/<code>`, `/hang` (never answers), `/hang-body` (headers, then silence), `/slow/<ms>`,
 * `/redirect/<n>` (n hops of 302 ending at /ok), `/redirect-to?l=<location>`, `/json`, `/garbage` (binary noise
 * claiming to be JSON), `/big/<bytes>` and `/echo` (method and body back).
 */
export async function startHttpTarget(cert?: TestCert): Promise<HttpTarget> {
  const server: Server = cert ? createHttpsServer({ key: cert.key, cert: cert.cert }, handle) : createHttpServer(handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `${cert ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const [, route = '', arg = ''] = url.pathname.split('/');
  const text = (status: number, body: string, type = 'text/plain'): void => {
    res.writeHead(status, { 'content-type': type }).end(body);
  };
  switch (route) {
    case 'ok':
      return text(200, 'hello from podpulse');
    case 'status':
      return text(Number(arg), `status ${arg}`);
    case 'hang':
      return;
    case 'hang-body':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      return;
    case 'slow':
      setTimeout(() => text(200, 'slow but fine'), Number(arg));
      return;
    case 'redirect': {
      const n = Number(arg);
      res.writeHead(302, { location: n > 1 ? `/redirect/${n - 1}` : '/ok' }).end();
      return;
    }
    case 'redirect-to':
      res.writeHead(302, { location: url.searchParams.get('l') ?? '/ok' }).end();
      return;
    case 'json':
      return text(200, JSON.stringify(JSON_DOC), 'application/json');
    case 'garbage':
      res.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x22, 0x0a]));
      return;
    case 'big':
      return text(200, 'x'.repeat(Number(arg)) + 'THE-END');
    case 'echo': {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => text(200, `${req.method} ${Buffer.concat(chunks).toString()} auth=${req.headers.authorization ?? '-'}`));
      return;
    }
    default:
      return text(404, 'not found');
  }
}
