// Local targets for all fourteen check kinds, and the checks pointing at them, shared by the footprint benchmarks.
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDnsServer } from '../test/helpers/dns-server.ts';
import { generateTestCerts } from '../test/helpers/tls-certs.ts';
import { startTlsServer } from '../test/helpers/tls-server.ts';

/**
 * Starts a DNS, TCP, HTTP and TLS target on loopback and returns one ok check of every kind (10 s interval).
 * `dir` receives the file the file check reads; `clockUrl` is the HTTP server whose Date header the clock check reads.
 */
export async function startCheckTargets(dir: string, clockUrl: string) {
  writeFileSync(join(dir, 'file.txt'), 'hello\n');
  const dns = await startDnsServer({ 'db.bench': { records: [{ type: 'A', address: '10.0.0.1' }] } });
  const tcp = createTcpServer((s) => s.end()).listen(0, '127.0.0.1');
  const http = createHttpServer((_q, s) => s.end('ok')).listen(0, '127.0.0.1');
  const certs = await generateTestCerts();
  const tls = await startTlsServer(certs.valid);
  await sleep(50);
  const tcpPort = (tcp.address() as AddressInfo).port;
  const httpPort = (http.address() as AddressInfo).port;
  const checks = [
    { id: 'dns', kind: 'dns', spec: { name: 'db.bench', server: dns.address } },
    { id: 'tcp', kind: 'tcp', spec: { host: '127.0.0.1', port: tcpPort } },
    { id: 'http', kind: 'http', spec: { url: `http://127.0.0.1:${httpPort}/` } },
    { id: 'tls', kind: 'tls', spec: { host: '127.0.0.1', port: tls.port, serverName: 'localhost', caFile: certs.caFile } },
    { id: 'disk', kind: 'disk', spec: { path: dir, warnFreePercent: 0, failFreePercent: 0 } },
    { id: 'mount', kind: 'mount', spec: { path: '/' } },
    { id: 'file', kind: 'file', spec: { path: join(dir, 'file.txt') } },
    { id: 'env', kind: 'env', spec: { required: [{ name: 'HOME' }] } },
    { id: 'clock', kind: 'clock', spec: { source: 'collector', server: clockUrl, warnSkew: '5s', failSkew: '10s' } },
    { id: 'cgroup', kind: 'cgroup', spec: {} },
    { id: 'process', kind: 'process', spec: { match: { name: 'node' } } },
    { id: 'port', kind: 'port', spec: { port: tcpPort } },
    { id: 'exec', kind: 'exec', spec: { argv: ['/bin/true'] } },
    { id: 'fd', kind: 'fd', spec: {} },
  ].map((c) => ({ ...c, interval: '10s', timeout: '5s' }));
  const close = async (): Promise<void> => {
    tcp.close();
    http.close();
    await tls.close();
    await dns.close();
    await certs.cleanup();
  };
  return { checks, close };
}
