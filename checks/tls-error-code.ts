/** Verification results that are about validity dates, not trust. */
export const CERT_TIME_ERRORS: ReadonlySet<string> = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * Whether an error code comes from TLS: OpenSSL's X509 verification codes (`DEPTH_ZERO_SELF_SIGNED_CERT`,
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, …), Node's `ERR_TLS_*` and OpenSSL's `ERR_SSL_*`.
 */
export function isTlsErrorCode(code: string | undefined): boolean {
  return code !== undefined && (/^ERR_(SSL|TLS)_/.test(code) || /CERT|ISSUER|SIGNATURE|_CRL|^EPROTO$/.test(code));
}
