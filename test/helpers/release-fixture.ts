import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateReleaseKeyPair, signRelease } from '../../src/release/signing.ts';
import type { CollectorDouble } from './collector-double.ts';
import { WORKERS } from './daemon-harness.ts';

export const RELEASE_KEYS = generateReleaseKeyPair();

/** A fake worker bundle reporting `version`: one of test/fixtures/workers/*.mjs with its version constant replaced. */
export function fakeBundle(version: string, fixture = 'good.mjs'): Buffer {
  return Buffer.from(readFileSync(join(WORKERS, fixture), 'utf8').replaceAll("'0.0.0-fake'", `'${version}'`));
}

/**
 * Publishes a bundle on the collector double and returns the DesiredRelease for it, signed with RELEASE_KEYS
 * (or another private key); `serve` replaces the bytes actually served (a corrupt download).
 */
export function publishRelease(collector: CollectorDouble, version: string, bundle: Buffer, opts: { privateKeyPem?: string; serve?: Buffer; signVersion?: string } = {}): Record<string, string> {
  const sha256 = createHash('sha256').update(bundle).digest('hex');
  collector.releases.set(version, opts.serve ?? bundle);
  const signature = signRelease({ version: opts.signVersion ?? version, sha256 }, opts.privateKeyPem ?? RELEASE_KEYS.privateKeyPem);
  return { version, url: `${collector.url}/v1/agent/releases/${version}`, sha256, signature, keyId: 'test' };
}

export const TRUSTED = { publicKeys: [{ keyId: 'test', pem: RELEASE_KEYS.publicKeyPem }] };
