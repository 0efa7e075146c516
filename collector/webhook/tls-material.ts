import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const genRsa = promisify(generateKeyPair);

/** What the webhook's TLS needs, as PEM; kept in a Secret as tls.crt, tls.key, ca.crt (bundle) and ca.key. */
export interface TlsMaterial {
  /** Serving certificate. */
  cert: string;
  key: string;
  /** The current CA first, then a previous CA that still signs live certificates (the caBundle during a CA change). */
  caBundle: string;
  /** The current CA's key, to issue the next serving certificate. */
  caKey: string;
}

// Clocks of the apiserver and the collector differ; a certificate valid "from now" can look not-yet-valid there.
const BACKDATE_MS = 5 * 60_000;

async function rsaKey(): Promise<{ pem: string; forgeKey: forge.pki.rsa.PrivateKey; forgePub: forge.pki.rsa.PublicKey }> {
  // node:crypto generates the key (native, fast); forge only assembles and signs the certificate.
  const { privateKey } = await genRsa('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey);
  return { pem: privateKey, forgeKey, forgePub: forge.pki.rsa.setPublicKey(forgeKey.n, forgeKey.e) };
}

function baseCert(pub: forge.pki.rsa.PublicKey, now: number, validityMs: number): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = pub;
  // Positive 128-bit serial (RFC 5280: at most 20 octets, non-negative).
  c.serialNumber = `7${randomBytes(16).toString('hex').slice(1)}`;
  c.validity.notBefore = new Date(now - BACKDATE_MS);
  c.validity.notAfter = new Date(now + validityMs);
  return c;
}

/** A self-signed CA that may sign leaf certificates only (pathLen 0). */
export async function generateCa(commonName: string, now: number, validityMs: number): Promise<{ cert: string; key: string }> {
  const k = await rsaKey();
  const c = baseCert(k.forgePub, now, validityMs);
  const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'podpulse' }];
  c.setSubject(subject);
  c.setIssuer(subject);
  c.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  c.sign(k.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c).replaceAll('\r\n', '\n'), key: k.pem };
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A serving certificate for `names` (DNS names or IP addresses), signed by the CA. */
export async function issueServingCert(ca: { cert: string; key: string }, names: readonly string[], now: number, validityMs: number): Promise<{ cert: string; key: string }> {
  const k = await rsaKey();
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const c = baseCert(k.forgePub, now, validityMs);
  c.setSubject([{ name: 'commonName', value: names[0] ?? 'podpulse-webhook' }]);
  c.setIssuer(caCert.subject.attributes);
  c.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((n) => (IPV4.test(n) || n.includes(':') ? { type: 7, ip: n } : { type: 2, value: n })) },
  ]);
  c.sign(forge.pki.privateKeyFromPem(ca.key), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c).replaceAll('\r\n', '\n'), key: k.pem };
}

/** The certificates in a PEM bundle, in order. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((p) => (p.endsWith('\n') ? p : `${p}\n`)) ?? [];
}

export interface CertFacts {
  notAfter: number;
  serial: string;
  names: string[];
}

/** Expiry, serial and subject names of a PEM certificate (the first one in a bundle). */
export function certFacts(pem: string): CertFacts {
  const x = new X509Certificate(pem);
  const names = (x.subjectAltName ?? '').split(', ').filter(Boolean).map((s) => s.replace(/^(DNS|IP Address):/, ''));
  return { notAfter: x.validToDate.getTime(), serial: x.serialNumber, names };
}

/** Whether `cert` was signed by `caCert`. */
export function signedBy(cert: string, caCert: string): boolean {
  try {
    const ca = new X509Certificate(caCert);
    const leaf = new X509Certificate(cert);
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  } catch {
    return false;
  }
}
