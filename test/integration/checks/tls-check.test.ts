import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsCheck } from '../../../checks/tls-check.ts';
import { TlsSpec } from '../../../src/protocol/checks/network-specs.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { startRawTcpServer, type RawTcpServer } from '../../helpers/raw-tcp-server.ts';
import { closedPort } from '../../helpers/tcp-targets.ts';
import { generateTestCerts, type TestCerts } from '../../helpers/tls-certs.ts';
import { startTlsServer, type TlsServer } from '../../helpers/tls-server.ts';

let certs: TestCerts;
const servers: Record<'valid' | 'selfSigned' | 'expiring' | 'expired' | 'wrongHost', TlsServer> = {} as never;
let hang: RawTcpServer;
let garbage: RawTcpServer;

beforeAll(async () => {
  certs = await generateTestCerts();
  for (const name of ['valid', 'selfSigned', 'expiring', 'expired', 'wrongHost'] as const) servers[name] = await startTlsServer(certs[name]);
  hang = await startRawTcpServer('hang');
  garbage = await startRawTcpServer('garbage');
});
afterAll(async () => {
  await Promise.all([...Object.values(servers).map((s) => s.close()), hang.close(), garbage.close()]);
  await certs.cleanup();
});

const run = (spec: Record<string, unknown>, timeoutMs = 10_000) =>
  tlsCheck.run(TlsSpec.parse({ host: 'localhost', caFile: certs.caFile, ...spec }), checkContext({ timeoutMs }));

describe('tls check', () => {
  it('passes for a CA-signed certificate trusted through caFile', async () => {
    expect(await run({ port: servers.valid.port })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('passes when connecting by address and the certificate covers the IP', async () => {
    expect(await run({ host: '127.0.0.1', port: servers.valid.port })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports TLS_CERT_EXPIRING as fail with days left, subject and issuer when below failDays', async () => {
    const r = await run({ port: servers.expiring.port, warnDays: 14, failDays: 5 });
    expect(r).toMatchObject({ status: 'fail', code: 'TLS_CERT_EXPIRING' });
    expect(r.details).toMatchObject({ subject: 'localhost', issuer: 'podpulse test CA' });
    expect(r.details?.daysLeft).toBeGreaterThan(2.5);
    expect(r.details?.daysLeft).toBeLessThanOrEqual(3);
  });

  it('reports TLS_CERT_EXPIRING as warn when below warnDays but not failDays', async () => {
    const r = await run({ port: servers.expiring.port, warnDays: 14, failDays: 1 });
    expect(r).toMatchObject({ status: 'warn', code: 'TLS_CERT_EXPIRING' });
  });

  it('judges expiry by the injected clock', async () => {
    const inTwoYears = () => Date.now() + 2 * 365 * 86_400_000;
    const r = await tlsCheck.run(TlsSpec.parse({ host: 'localhost', port: servers.valid.port, caFile: certs.caFile }), checkContext({ now: inTwoYears }));
    expect(r).toMatchObject({ status: 'fail', code: 'TLS_CERT_EXPIRED' });
  });

  it('reports TLS_CERT_EXPIRED when the certificate has expired', async () => {
    const r = await run({ port: servers.expired.port });
    expect(r).toMatchObject({ status: 'fail', code: 'TLS_CERT_EXPIRED' });
    expect(r.details?.daysLeft).toBeLessThan(-29);
  });

  it('reports TLS_HOSTNAME_MISMATCH when the trusted certificate is for another name', async () => {
    const r = await run({ port: servers.wrongHost.port });
    expect(r).toMatchObject({ status: 'fail', code: 'TLS_HOSTNAME_MISMATCH' });
    expect(r.message).toContain('wrong.example');
  });

  it('checks the host name against serverName when one is given', async () => {
    expect(await run({ port: servers.wrongHost.port, host: '127.0.0.1', serverName: 'wrong.example' })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports TLS_UNTRUSTED for a self-signed certificate', async () => {
    const r = await run({ port: servers.selfSigned.port });
    expect(r).toMatchObject({ status: 'fail', code: 'TLS_UNTRUSTED' });
    expect(r.message).toContain('SELF_SIGNED');
  });

  it('reports TLS_UNTRUSTED when the issuing CA is not trusted (system store, no caFile)', async () => {
    const r = await tlsCheck.run(TlsSpec.parse({ host: 'localhost', port: servers.valid.port }), checkContext());
    expect(r).toMatchObject({ status: 'fail', code: 'TLS_UNTRUSTED' });
  });

  it('reports TLS_CONNECT when nothing listens', async () => {
    expect(await run({ port: await closedPort() })).toMatchObject({ status: 'fail', code: 'TLS_CONNECT' });
  });

  it('reports TLS_HANDSHAKE when the server does not speak TLS', async () => {
    expect(await run({ port: garbage.port })).toMatchObject({ status: 'fail', code: 'TLS_HANDSHAKE' });
  });

  it('reports TLS_TIMEOUT before the runner deadline when the server never answers the handshake', async () => {
    const r = await run({ port: hang.port }, 1_500);
    expect(r).toMatchObject({ status: 'fail', code: 'TLS_TIMEOUT' });
    expect(r.details?.stage).toBe('handshake');
  });

  it('reports CHECK_TIMEOUT promptly, not a dependency failure, when the runner aborts first', async () => {
    const started = Date.now();
    const r = await tlsCheck.run(TlsSpec.parse({ host: '127.0.0.1', port: hang.port }), checkContext({ signal: AbortSignal.timeout(300) }));
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports CHECK_MISCONFIGURED when caFile cannot be read', async () => {
    const r = await run({ port: servers.valid.port, caFile: '/nonexistent/ca.pem' });
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });
});
