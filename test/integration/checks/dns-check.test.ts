import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsCheck } from '../../../checks/dns-check.ts';
import { DnsSpec } from '../../../src/protocol/checks/network-specs.ts';
import { codeAllows } from '../../../src/protocol/codes.ts';
import { checkContext } from '../../helpers/check-context.ts';
import { startDnsServer, type DnsServer } from '../../helpers/dns-server.ts';

let server: DnsServer;
let dir: string;
let garbageReply: (query: Buffer) => Buffer = () => Buffer.alloc(0);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podpulse-dns-'));
  server = await startDnsServer({
    'api.test': { records: [{ type: 'A', address: '10.0.0.1' }, { type: 'A', address: '10.0.0.2' }, { type: 'AAAA', address: 'fd00::1' }] },
    'alias.test': { records: [{ type: 'CNAME', target: 'api.test' }] },
    '_pg._tcp.db.test': { records: [{ type: 'SRV', priority: 1, weight: 10, port: 5432, target: 'db-0.test' }] },
    'servfail.test': 'servfail',
    'refused.test': 'refused',
    'formerr.test': 'formerr',
    'garbage.test': 'garbage',
    'silent.test': 'drop',
    'fuzz.test': { raw: (q) => garbageReply(q) },
  });
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (spec: Record<string, unknown>, timeoutMs = 10_000) =>
  dnsCheck.run(DnsSpec.parse({ server: server.address, ...spec }), checkContext({ timeoutMs }));

describe('dns check', () => {
  it('passes when an A record resolves', async () => {
    expect(await run({ name: 'api.test' })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('passes for AAAA, CNAME and SRV records, comparing expected values canonically', async () => {
    expect(await run({ name: 'api.test', type: 'AAAA', expect: ['FD00:0:0::1'] })).toEqual({ status: 'ok', code: 'OK' });
    expect(await run({ name: 'alias.test', type: 'CNAME', expect: ['API.test.'] })).toEqual({ status: 'ok', code: 'OK' });
    expect(await run({ name: '_pg._tcp.db.test', type: 'SRV', expect: ['db-0.test:5432'] })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('passes when every answer is one of the expected values', async () => {
    expect(await run({ name: 'api.test', expect: ['10.0.0.2', '10.0.0.1', '10.9.9.9'] })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports DNS_UNEXPECTED_ANSWER listing what it got and expected when an answer is not expected', async () => {
    const r = await run({ name: 'api.test', expect: ['10.0.0.1'] });
    expect(r).toMatchObject({ status: 'fail', code: 'DNS_UNEXPECTED_ANSWER' });
    expect(r.message).toContain('got [10.0.0.1, 10.0.0.2], expected only [10.0.0.1]');
    expect(r.details?.unexpected).toBe('10.0.0.2');
  });

  it('reports DNS_NXDOMAIN when the name does not exist', async () => {
    expect(await run({ name: 'missing.test' })).toMatchObject({ status: 'fail', code: 'DNS_NXDOMAIN' });
  });

  it('reports DNS_NO_ANSWER when the name has no record of the type', async () => {
    expect(await run({ name: 'alias.test', type: 'A' })).toMatchObject({ status: 'fail', code: 'DNS_NO_ANSWER' });
  });

  it('reports DNS_SERVFAIL when the server fails', async () => {
    expect(await run({ name: 'servfail.test' })).toMatchObject({ status: 'fail', code: 'DNS_SERVFAIL' });
  });

  it('reports DNS_REFUSED when the server refuses the query', async () => {
    expect(await run({ name: 'refused.test' })).toMatchObject({ status: 'fail', code: 'DNS_REFUSED' });
  });

  it('reports DNS_BAD_RESPONSE when the reply is garbage or the server answers FORMERR', async () => {
    expect(await run({ name: 'garbage.test' })).toMatchObject({ status: 'fail', code: 'DNS_BAD_RESPONSE' });
    expect(await run({ name: 'formerr.test' })).toMatchObject({ status: 'fail', code: 'DNS_BAD_RESPONSE' });
  });

  it('reports DNS_TIMEOUT before the runner deadline when the server never answers', async () => {
    // Had the check waited for the runner's abort, it would report unknown CHECK_TIMEOUT instead.
    const r = await run({ name: 'silent.test' }, 2_000);
    expect(r).toMatchObject({ status: 'fail', code: 'DNS_TIMEOUT' });
  });

  it('reports CHECK_TIMEOUT promptly, not a dependency failure, when the runner aborts first', async () => {
    const started = Date.now();
    const r = await dnsCheck.run(DnsSpec.parse({ name: 'silent.test', server: server.address }), checkContext({ signal: AbortSignal.timeout(300) }));
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports DNS_ERROR when nothing listens on the server port', async () => {
    const r = await run({ name: 'api.test', server: '127.0.0.1:1' });
    expect(r).toMatchObject({ status: 'fail', code: 'DNS_ERROR' });
    expect(r.message).toContain('ECONNREFUSED');
  });

  it('uses the nameservers and options of resolvConf when no server is given', async () => {
    const conf = join(dir, 'resolv.conf');
    await writeFile(conf, `search svc.cluster.local\n# comment\nnameserver ${server.address}\noptions ndots:5 timeout:1 attempts:1\n`);
    expect(await dnsCheck.run(DnsSpec.parse({ name: 'api.test', resolvConf: conf }), checkContext())).toEqual({ status: 'ok', code: 'OK' });
    const started = Date.now();
    const r = await dnsCheck.run(DnsSpec.parse({ name: 'silent.test', resolvConf: conf }), checkContext());
    expect(r).toMatchObject({ status: 'fail', code: 'DNS_TIMEOUT' });
    // timeout:1 attempts:1 ends the query well before the 10 s context deadline
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports CHECK_MISCONFIGURED when resolvConf cannot be read and no server is given', async () => {
    const r = await dnsCheck.run(DnsSpec.parse({ name: 'api.test', resolvConf: join(dir, 'absent.conf') }), checkContext());
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });

  it('never throws and always reports a valid status and code on random garbage replies', async () => {
    const reply = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // with the query's id, so c-ares parses the reply instead of discarding it as foreign
      fc.uint8Array({ minLength: 1, maxLength: 600 }).map((b) => ({ keepId: true, b })),
    );
    await fc.assert(
      fc.asyncProperty(reply, async (r) => {
        garbageReply = (q) => ('keepId' in r ? Buffer.concat([q.subarray(0, 2), r.b]) : Buffer.from(r));
        const out = await run({ name: 'fuzz.test' }, 600);
        expect(codeAllows(out.code, out.status)).toBe(true);
        expect(out.status).not.toBe('ok');
      }),
      { numRuns: 40 },
    );
  });
});
