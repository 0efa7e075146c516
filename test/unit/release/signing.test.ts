import { describe, expect, it } from 'vitest';
import { generateReleaseKeyPair, releasePayload, signRelease, verifyRelease } from '../../../src/release/signing.ts';

const keys = generateReleaseKeyPair();
const trusted = [{ keyId: 'main', pem: keys.publicKeyPem }];
const release = { version: '1.4.2', sha256: 'a'.repeat(64) };

describe('release signing', () => {
  it('verifies a signature made with the trusted key and names the key', () => {
    const sig = signRelease(release, keys.privateKeyPem);
    expect(Buffer.from(sig, 'base64')).toHaveLength(64);
    expect(verifyRelease(release, sig, trusted)).toEqual({ ok: true, keyId: 'main' });
    expect(verifyRelease(release, sig, trusted, 'main')).toEqual({ ok: true, keyId: 'main' });
  });

  it('signs the canonical payload podpulse-release:v1:<version>:<sha256>', () => {
    expect(releasePayload(release).toString()).toBe(`podpulse-release:v1:1.4.2:${'a'.repeat(64)}`);
  });

  it('refuses a signature when the version was changed', () => {
    const sig = signRelease(release, keys.privateKeyPem);
    const r = verifyRelease({ ...release, version: '1.4.3' }, sig, trusted);
    expect(r.ok).toBe(false);
  });

  it('refuses a signature when the hash was changed', () => {
    const sig = signRelease(release, keys.privateKeyPem);
    expect(verifyRelease({ ...release, sha256: 'b'.repeat(64) }, sig, trusted).ok).toBe(false);
  });

  it('refuses a tampered signature', () => {
    const raw = Buffer.from(signRelease(release, keys.privateKeyPem), 'base64');
    raw[10] = raw[10]! ^ 0xff;
    expect(verifyRelease(release, raw.toString('base64'), trusted).ok).toBe(false);
    expect(verifyRelease(release, 'c2hvcnQ=', trusted)).toMatchObject({ ok: false, error: expect.stringMatching(/64 bytes/) });
  });

  it('refuses a signature made with a key that is not trusted', () => {
    const other = generateReleaseKeyPair();
    const sig = signRelease(release, other.privateKeyPem);
    expect(verifyRelease(release, sig, trusted)).toMatchObject({ ok: false, error: expect.stringMatching(/does not verify/) });
  });

  it('refuses an unknown keyId instead of trying every key, and refuses everything without keys', () => {
    const sig = signRelease(release, keys.privateKeyPem);
    expect(verifyRelease(release, sig, trusted, 'other')).toMatchObject({ ok: false, error: expect.stringMatching(/not among the trusted keys/) });
    expect(verifyRelease(release, sig, [])).toMatchObject({ ok: false, error: expect.stringMatching(/no release public keys/) });
  });
});
