import type { KeyObject } from 'node:crypto';

/**
 * node:crypto, taken when a release is signed or verified: the daemon imports this module but verifies only during
 * an update, and loading node:crypto at its start would cost every pod about 1 MB of private memory.
 */
const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');

/** A public key the daemon trusts for worker releases; `keyId` lets keys rotate without a flag day. */
export interface ReleasePublicKey {
  keyId: string;
  /** SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
  pem: string;
}

/** What a release signature covers: the version and the bundle's sha256, nothing else. */
export interface SignedRelease {
  version: string;
  sha256: string;
}

/** Why a signature did not verify, in words for one log line and the update status. */
export type VerifyResult = { ok: true; keyId: string } | { ok: false; error: string };

/**
 * The canonical bytes a release signature covers. Versioned (`v1`) so a future scheme cannot be confused with this
 * one; a separator that cannot occur in a semver or a hex digest makes the encoding unambiguous.
 */
export function releasePayload(r: SignedRelease): Buffer {
  return Buffer.from(`podpulse-release:v1:${r.version}:${r.sha256.toLowerCase()}`, 'utf8');
}

/** Signs a release with an ed25519 private key (PKCS#8 PEM); returns the signature in base64. */
export function signRelease(r: SignedRelease, privateKeyPem: string): string {
  const key = crypto().createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`release keys must be ed25519, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return crypto().sign(null, releasePayload(r), key).toString('base64');
}

/**
 * Verifies a base64 signature against the trusted keys. With a keyId only that key is tried (an unknown keyId is
 * an error, not a fall-through to every key); without one every trusted key is tried.
 */
export function verifyRelease(r: SignedRelease, signature: string, keys: readonly ReleasePublicKey[], keyId?: string): VerifyResult {
  if (keys.length === 0) return { ok: false, error: 'no release public keys are configured; refusing every release' };
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64) return { ok: false, error: `signature must be 64 bytes of ed25519, got ${sig.length}` };
  const candidates = keyId === undefined ? keys : keys.filter((k) => k.keyId === keyId);
  if (candidates.length === 0) return { ok: false, error: `signature keyId "${keyId}" is not among the trusted keys (${keys.map((k) => k.keyId).join(', ')})` };
  const payload = releasePayload(r);
  for (const k of candidates) {
    let pub: KeyObject;
    try {
      pub = crypto().createPublicKey(k.pem);
    } catch (err) {
      return { ok: false, error: `trusted key "${k.keyId}" is not a valid public key: ${(err as Error).message}` };
    }
    if (pub.asymmetricKeyType !== 'ed25519') return { ok: false, error: `trusted key "${k.keyId}" is ${pub.asymmetricKeyType ?? 'unknown'}, not ed25519` };
    if (crypto().verify(null, payload, pub, sig)) return { ok: true, keyId: k.keyId };
  }
  return { ok: false, error: `signature does not verify for ${r.version} (sha256 ${r.sha256}) with ${candidates.length === 1 ? `key "${candidates[0]!.keyId}"` : `any of ${candidates.length} trusted keys`}` };
}

/** A fresh ed25519 key pair as PEM (private PKCS#8, public SPKI), for `podpulse release keygen` and tests. */
export function generateReleaseKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = crypto().generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
