import { certFacts, generateCa, issueServingCert, signedBy, splitPem, type TlsMaterial } from './tls-material.ts';

export interface RenewPolicy {
  /** Subject names the serving certificate must carry. */
  names: readonly string[];
  certValidityMs: number;
  renewBeforeMs: number;
  caValidityMs: number;
  caRenewBeforeMs: number;
}

export interface Renewal {
  material: TlsMaterial;
  /** Why it changed, or undefined when `current` is still good. */
  why?: string;
}

/**
 * The TLS material to use at `now`: `current` while it is good, otherwise a renewed one. The CA is replaced
 * `caRenewBefore` ahead of its expiry and the old one stays in the bundle until it expires, so certificates it
 * signed are trusted until they are replaced; the serving certificate is replaced `renewBefore` ahead of its expiry,
 * when its names change, or when the CA changed.
 */
export async function renewMaterial(current: TlsMaterial | undefined, now: number, p: RenewPolicy): Promise<Renewal> {
  const caPems = current ? splitPem(current.caBundle) : [];
  let caCert = caPems[0];
  let caKey = current?.caKey;
  let bundle = caPems;
  let why: string | undefined;
  if (!current || !caCert || !caKey) {
    why = 'no certificate yet';
  } else if (certFacts(caCert).notAfter - now <= p.caRenewBeforeMs) {
    why = 'CA expires soon';
  }
  if (why) {
    const ca = await generateCa('podpulse-webhook-ca', now, p.caValidityMs);
    caCert = ca.cert;
    caKey = ca.key;
    // Keep the previous CA while it is valid: replicas still serving its certificates stay trusted.
    bundle = [ca.cert, ...caPems.filter((c) => certFacts(c).notAfter > now).slice(0, 1)];
  }
  const caPair = { cert: caCert!, key: caKey! };
  if (!why && current) {
    const leaf = certFacts(current.cert);
    if (leaf.notAfter - now <= p.renewBeforeMs) why = 'serving certificate expires soon';
    else if (p.names.some((n) => !leaf.names.includes(n))) why = 'serving certificate names changed';
    else if (!signedBy(current.cert, caPair.cert)) why = 'serving certificate not signed by the current CA';
    if (!why) return { material: current };
  }
  const leaf = await issueServingCert(caPair, p.names, now, p.certValidityMs);
  return { material: { cert: leaf.cert, key: leaf.key, caBundle: bundle.join(''), caKey: caPair.key }, why: why! };
}
