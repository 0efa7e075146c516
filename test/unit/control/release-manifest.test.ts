import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { manifestFor, signManifest } from '../../../src/release/build-release.ts';
import { ReleaseManifest } from '../../../src/protocol/release.ts';
import { generateReleaseKeyPair, verifyRelease } from '../../../src/release/signing.ts';

describe('release manifests', () => {
  it('describes a bundle with its sha256 and size and signs version + sha256 verifiably', () => {
    const keys = generateReleaseKeyPair();
    const bundle = Buffer.from('export const worker = 1;\n');
    const m = signManifest(manifestFor('2.3.4', bundle), keys.privateKeyPem, 'ops-2026');
    expect(ReleaseManifest.safeParse(m).success).toBe(true);
    expect(m).toMatchObject({ version: '2.3.4', size: bundle.length, keyId: 'ops-2026', sha256: createHash('sha256').update(bundle).digest('hex') });
    expect(verifyRelease(m, m.signature!, [{ keyId: 'ops-2026', pem: keys.publicKeyPem }], m.keyId)).toEqual({ ok: true, keyId: 'ops-2026' });
    const other = manifestFor('2.3.4', Buffer.from('export const worker = 2;\n'));
    expect(verifyRelease(other, m.signature!, [{ keyId: 'ops-2026', pem: keys.publicKeyPem }]).ok).toBe(false);
  });
});
