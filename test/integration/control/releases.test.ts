import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReleaseKeyPair } from '../../../src/release/signing.ts';
import { manifestFor } from '../../../src/release/build-release.ts';
import { fakeBundle } from '../../helpers/release-fixture.ts';
import { controlCollector, operatorApi, OPS, pod, signed, upload, type Json } from './control-fixture.ts';

const agent = pod('web');
let env: Awaited<ReturnType<typeof controlCollector>>;
let call: ReturnType<typeof operatorApi>;

beforeAll(async () => {
  env = await controlCollector([agent]);
  call = operatorApi(env.collector.url);
});
afterAll(() => env?.collector.close());

const download = (version: string, token = agent.token) => fetch(`${env.collector.url}/v1/agent/releases/${version}`, { headers: { authorization: `Bearer ${token}` } });

describe('release uploads', () => {
  it('stores a signed release, lists it, and serves the exact bytes with their sha256 to agents', async () => {
    const bundle = fakeBundle('3.1.0');
    const r = await upload(env.collector.url, bundle, signed('3.1.0', bundle));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ created: true, manifest: { version: '3.1.0', keyId: 'test', size: bundle.length } });
    expect((await upload(env.collector.url, bundle, signed('3.1.0', bundle))).status).toBe(200);
    const list = await call('GET', '/api/v1/releases', undefined, OPS.viewer);
    expect((list.body.items as Json[]).map((m) => m.version)).toContain('3.1.0');
    const res = await download('3.1.0');
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(bytes.equals(bundle)).toBe(true);
    expect(res.headers.get('x-podpulse-sha256')).toBe(sha);
    expect((await download('9.9.9')).status).toBe(404);
    expect((await download('3.1.0', 'not-a-known-agent-token')).status).toBe(401);
  });

  it('refuses tampered, unsigned, foreign-key and mismatched uploads with a message naming the problem, storing nothing', async () => {
    const bundle = fakeBundle('3.2.0');
    const good = signed('3.2.0', bundle);
    const tampered = Buffer.concat([bundle, Buffer.from('\n// injected\n')]);
    const cases: [string, Buffer, Json, RegExp, RegExp][] = [
      ['tampered bundle', tampered, { ...good, size: tampered.length }, /manifest\.sha256/, /tampered or truncated/],
      ['unsigned', bundle, manifestFor('3.2.0', bundle), /manifest\.signature/, /not signed/],
      ['signed by an unknown key', bundle, signed('3.2.0', bundle, generateReleaseKeyPair().privateKeyPem), /manifest\.signature/, /does not verify/],
      ['signature of another version', bundle, { ...signed('3.3.0', bundle), version: '3.2.0' }, /manifest\.signature/, /does not verify/],
      ['no manifest fields', bundle, { version: '3.2.0' }, /manifest\.(apiVersion|sha256)/, /release refused/],
    ];
    for (const [what, b, m, path, message] of cases) {
      const r = await upload(env.collector.url, b, m);
      expect(r.status, what).toBe(400);
      const err = r.body.error as { code: string; message: string; violations: { path: string }[] };
      expect(err.code, what).toBe('PODPULSE_ERR_RELEASE_REJECTED');
      expect(err.violations.map((v) => v.path).join(','), what).toMatch(path);
      expect(err.message, what).toMatch(message);
    }
    const otherBundle = fakeBundle('3.1.0').subarray(10);
    const clash = await upload(env.collector.url, otherBundle, signed('3.1.0', otherBundle));
    expect(clash.status).toBe(409);
    expect((await upload(env.collector.url, bundle, good, OPS.viewer)).status).toBe(403);
    const list = await call('GET', '/api/v1/releases', undefined, OPS.viewer);
    expect((list.body.items as Json[]).map((m) => m.version)).not.toContain('3.2.0');
    expect((await download('3.2.0')).status).toBe(404);
  });

  it('puts a document release into the effective config with the signed sha256, and refuses rollouts and pins of unknown versions', async () => {
    expect((await call('PUT', '/api/v1/config/scopes/app/shop/web', { document: { release: { version: '3.1.0' } } })).status).toBe(200);
    const res = await fetch(`${env.collector.url}/v1/agent/config`, { headers: { authorization: `Bearer ${agent.token}` } });
    const cfg = (await res.json()) as { release: { version: string; url: string; sha256: string; signature: string; keyId: string } };
    expect(cfg.release).toMatchObject({ version: '3.1.0', url: `${env.collector.url}/v1/agent/releases/3.1.0`, keyId: 'test' });
    expect(cfg.release.sha256).toBe(createHash('sha256').update(fakeBundle('3.1.0')).digest('hex'));
    const ro = await call('POST', '/api/v1/rollouts', { target: '4.0.0', selector: { app: 'web' } });
    expect(ro.status).toBe(400);
    expect(ro.body.error).toMatchObject({ code: 'PODPULSE_ERR_ROLLOUT_REJECTED', violations: [{ path: 'target' }] });
    expect((ro.body.error as { message: string }).message).toMatch(/release 4\.0\.0 does not exist/);
    expect((await call('GET', '/api/v1/rollouts', undefined, OPS.viewer)).body.items).toEqual([]);
    const pin = await call('PUT', '/api/v1/releases/pin', { version: '4.0.0' });
    expect(pin.status).toBe(400);
    expect((await call('GET', '/api/v1/releases/pin', undefined, OPS.viewer)).body.pin).toBeNull();
  });
});
