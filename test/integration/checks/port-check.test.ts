import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portCheck } from '../../../checks/port-check.ts';
import { checkContext } from '../../helpers/check-context.ts';

const check = (input: Record<string, unknown>) => portCheck.run(portCheck.spec.parse(input), checkContext());

async function listen(host: string): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  return server;
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;
const close = (s: net.Server) => new Promise<void>((resolve) => s.close(() => resolve()));

const ipv6 = await listen('::1').then(
  async (s) => {
    await close(s);
    return true;
  },
  () => false,
);

describe('port check against real sockets', () => {
  it('is ok while a socket listens on the port, and reports PORT_NOT_LISTENING once it is closed', async () => {
    const server = await listen('127.0.0.1');
    const port = portOf(server);
    expect(await check({ port })).toEqual({ status: 'ok', code: 'OK' });
    await close(server);
    expect(await check({ port })).toMatchObject({ status: 'fail', code: 'PORT_NOT_LISTENING', details: { port } });
  });

  it('does not count a connected (non-listening) socket as listening', async () => {
    const server = await listen('127.0.0.1');
    const client = net.connect(portOf(server), '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    try {
      // The client's local port is ESTABLISHED, never LISTEN.
      expect(await check({ port: client.localPort! })).toMatchObject({ status: 'fail', code: 'PORT_NOT_LISTENING' });
    } finally {
      client.destroy();
      await close(server);
    }
  });

  it.skipIf(!ipv6)(`finds a socket listening on IPv6 only, in tcp6${ipv6 ? '' : ' (skipped: no IPv6 loopback)'}`, async () => {
    const server = await listen('::1');
    try {
      expect(await check({ port: portOf(server) })).toEqual({ status: 'ok', code: 'OK' });
    } finally {
      await close(server);
    }
  });
});

describe('port check against fixture tables', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'podpulse-port-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });
  const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const row = (local: string, st: string) => `   0: ${local} 00000000:0000 ${st} 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n`;

  it('reads tcp6 alone when tcp is absent, and LISTEN (0A) only', async () => {
    const dir = path.join(tmp, 'v6only');
    await mkdir(dir);
    await writeFile(path.join(dir, 'tcp6'), HEADER + row('00000000000000000000000000000000:1F90', '0A') + row('00000000000000000000000001000000:0050', '01'));
    expect(await check({ port: 8080, procNet: dir })).toEqual({ status: 'ok', code: 'OK' });
    expect(await check({ port: 80, procNet: dir })).toMatchObject({ status: 'fail', code: 'PORT_NOT_LISTENING' });
  });

  it('reports unknown NOT_SUPPORTED when neither table exists', async () => {
    const dir = path.join(tmp, 'empty');
    await mkdir(dir);
    expect(await check({ port: 80, procNet: dir })).toMatchObject({ status: 'unknown', code: 'NOT_SUPPORTED' });
  });
});
