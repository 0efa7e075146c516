import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signManifest, manifestFor } from '../../../src/release/build-release.ts';
import { publishRelease } from '../../../src/release/publish-release.ts';
import type { ReleaseManifest } from '../../../src/protocol/release.ts';
import { collectorUnderTest } from '../../helpers/collector-under-test.ts';
import { ROOT, startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';
import { RELEASE_KEYS, TRUSTED } from '../../helpers/release-fixture.ts';

export type Json = Record<string, unknown>;
export const PKG_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const OPS = { admin: 'admin-token-control-0001', viewer: 'viewer-token-control-001' };

/** One pod of the test fleet: who it is and the static token bound to its pod uid. */
export interface Pod {
  podUid: string;
  namespace: string;
  app: string;
  tenant: string;
  token: string;
}

export function pod(app: string, namespace = 'shop', tenant = 'acme'): Pod {
  return { podUid: randomUUID(), namespace, app, tenant, token: `agent-${randomUUID()}` };
}

/** A real collector with static agent tokens for `pods`, operator tokens (admin, viewer) and the test release key. */
export async function controlCollector(pods: readonly Pod[], over: Json = {}): Promise<{ collector: Awaited<ReturnType<typeof collectorUnderTest>>; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-control-'));
  writeFileSync(join(dir, 'agents.json'), JSON.stringify({ tokens: pods.map((p, i) => ({ name: `pod-${i}`, token: p.token, namespace: p.namespace, app: p.app, podUid: p.podUid })) }));
  writeFileSync(join(dir, 'operators.json'), JSON.stringify({ tokens: [{ name: 'platform-admin', token: OPS.admin, role: 'admin' }, { name: 'dashboards', token: OPS.viewer, role: 'viewer' }] }));
  const collector = await collectorUnderTest({
    auth: { mode: 'static', tokensFile: join(dir, 'agents.json') },
    operators: { tokensFile: join(dir, 'operators.json') },
    releases: { publicKeys: [{ keyId: 'test', pem: RELEASE_KEYS.publicKeyPem }] },
    rollouts: { tickInterval: '250ms' },
    configCenter: { refreshInterval: '500ms' },
    ...over,
  });
  return { collector, dir };
}

/** A client of the operator API. */
export function operatorApi(url: string) {
  return async (method: string, path: string, body?: unknown, token = OPS.admin): Promise<{ status: number; body: Json; headers: Headers }> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
  };
}

/** Uploads a bundle with its manifest through the library call the CLI uses (PUT /api/v1/releases/{version}). */
export async function upload(url: string, bundle: Buffer, manifest: ReleaseManifest | Json, token = OPS.admin): Promise<{ status: number; body: Json }> {
  return publishRelease({ server: url, token, bundle, manifest: manifest as ReleaseManifest });
}

/** A signed manifest (test key) for a bundle. */
export function signed(version: string, bundle: Buffer, privateKeyPem = RELEASE_KEYS.privateKeyPem): ReleaseManifest {
  return signManifest(manifestFor(version, bundle), privateKeyPem, 'test');
}

/** Starts a daemon with the real built worker as `p`: its token, its downward-API env, the trusted release key. */
export function startPodDaemon(collectorUrl: string, p: Pod, dir: string, over: Json = {}, env: NodeJS.ProcessEnv = {}): DaemonRun {
  const tokenFile = join(dir, `token-${p.podUid}`);
  writeFileSync(tokenFile, p.token);
  const { worker, config, ...rest } = over as { worker?: Json; config?: Json };
  const cfg = testConfig(collectorUrl, {
    release: TRUSTED,
    worker: { bakedPath: join(ROOT, 'dist/worker.mjs'), bakedVersion: PKG_VERSION, readyDeadline: '20s', updateGrace: '20s', downloadTimeout: '10s', ...worker },
    config: { pollInterval: '30s', ...config },
    ...rest,
  });
  (cfg.collector as Json).tokenFile = tokenFile;
  return startDaemon(cfg, undefined, { POD_UID: p.podUid, POD_NAME: `${p.app}-${p.podUid.slice(0, 8)}`, POD_NAMESPACE: p.namespace, PODPULSE_APP: p.app, PODPULSE_TENANT: p.tenant, ...env });
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
