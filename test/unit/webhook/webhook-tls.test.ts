import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { renewMaterial } from '../../../collector/webhook/renew-material.ts';
import { startWebhook, type RunningWebhook } from '../../../collector/webhook/start-webhook.ts';
import { certFacts, signedBy, splitPem } from '../../../collector/webhook/tls-material.ts';
import { MemoryTlsSecretStore } from '../../../collector/webhook/tls-secret-store.ts';
import { WebhookConfig, type WebhookConfigInput } from '../../../collector/webhook/webhook-config.ts';
import type { Store } from '../../../collector/store/store.ts';
import { captureLogs } from '../../helpers/capture-logs.ts';
import { review } from './admission-fixtures.ts';

interface Answer {
  status: number;
  body: string;
  serial: string;
}

/** One request on a new TLS connection, trusting only `ca`; reports the serial of the certificate the server showed. */
function post(url: string, ca: string, body: string, path = '/admission/mutate?timeout=5s'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: 'POST', ca, servername: 'podpulse-collector.podpulse.svc', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), serial }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const unusedStore = {} as Store;
let running: RunningWebhook | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(input: WebhookConfigInput, store = new MemoryTlsSecretStore()) {
  const config = WebhookConfig.parse({ enabled: true, listen: { host: '127.0.0.1', port: 0 }, ...input });
  running = await startWebhook({ config, log: captureLogs().log, store: unusedStore, kube: null, secretStore: store });
  const { material } = await store.read();
  return { w: running, ca: material!.caBundle };
}

describe('webhook TLS listener', () => {
  it('serves /admission/mutate over TLS with a certificate for the Service names, and 400 for malformed bodies', async () => {
    const { w, ca } = await start({});
    const r = await post(w.url, ca, JSON.stringify(review('plain')));
    expect(r.status).toBe(200);
    const answer = JSON.parse(r.body) as { response: { allowed: boolean; patchType: string } };
    expect(answer.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    expect(certFacts(w.rotator!.current!.cert).names).toEqual(expect.arrayContaining(['podpulse-collector.podpulse.svc', 'podpulse-collector.podpulse.svc.cluster.local']));

    const garbage = await post(w.url, ca, '{"apiVersion": ');
    expect(garbage.status).toBe(400);
    const wrong = await post(w.url, ca, JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }));
    expect(wrong.status).toBe(400);
    expect(JSON.parse(wrong.body)).toMatchObject({ error: { code: 'PODPULSE_ERR_PROTOCOL', message: 'malformed AdmissionReview' } });
    // Still answering after the bad requests.
    expect((await post(w.url, ca, JSON.stringify(review('opted-out')))).status).toBe(200);
  });

  it('replaces an expiring certificate and keeps answering without a restart', async () => {
    const store = new MemoryTlsSecretStore();
    // A 3 s certificate renewed 2 s before expiry: a new one about every second.
    const { w, ca } = await start({ tls: { certValidity: '3s', renewBefore: '2s', checkEvery: '200ms' } }, store);
    const url = w.url;
    const body = JSON.stringify(review('plain'));
    const serials = new Set<string>();
    const deadline = Date.now() + 4500;
    let answered = 0;
    while (Date.now() < deadline) {
      const r = await post(url, ca, body);
      expect(r.status).toBe(200);
      serials.add(r.serial);
      answered++;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(w.url).toBe(url);
    expect(answered).toBeGreaterThan(10);
    expect(serials.size).toBeGreaterThanOrEqual(2);
    // The Secret holds what is served: the last serial seen is the stored certificate (or the one just before it).
    const { material } = await store.read();
    expect(signedBy(material!.cert, splitPem(ca)[0]!)).toBe(true);
  });
});

describe('renewMaterial', () => {
  const policy = { names: ['a.svc'], certValidityMs: 60_000, renewBeforeMs: 20_000, caValidityMs: 600_000, caRenewBeforeMs: 100_000 };

  it('keeps good material, renews the leaf before expiry or when names change, and rotates the CA keeping the old one in the bundle', async () => {
    const t0 = Date.now();
    const first = await renewMaterial(undefined, t0, policy);
    expect(first.why).toBe('no certificate yet');
    expect(await renewMaterial(first.material, t0 + 1000, policy)).toEqual({ material: first.material });

    const leaf = await renewMaterial(first.material, t0 + 45_000, policy);
    expect(leaf.why).toBe('serving certificate expires soon');
    expect(leaf.material.caBundle).toBe(first.material.caBundle);
    expect(certFacts(leaf.material.cert).serial).not.toBe(certFacts(first.material.cert).serial);

    const renamed = await renewMaterial(first.material, t0 + 1000, { ...policy, names: ['a.svc', '127.0.0.1'] });
    expect(renamed.why).toBe('serving certificate names changed');
    expect(certFacts(renamed.material.cert).names).toEqual(['a.svc', '127.0.0.1']);

    const ca = await renewMaterial(first.material, t0 + 550_000, policy);
    expect(ca.why).toBe('CA expires soon');
    const bundle = splitPem(ca.material.caBundle);
    expect(bundle).toHaveLength(2);
    expect(bundle[1]).toBe(splitPem(first.material.caBundle)[0]);
    expect(signedBy(ca.material.cert, bundle[0]!)).toBe(true);
    expect(signedBy(ca.material.cert, bundle[1]!)).toBe(false);
  });
});
