// Baseline for bench/ingest.ts: a bare node:http server that reads the body, parses the same JSON and answers 204.
// Whatever the collector costs beyond this (validation, auth, group commit, the store) shows up as the ratio.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(204).end();
    } catch {
      res.writeHead(400).end();
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, msg: 'bare listening' })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
