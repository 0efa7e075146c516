/**
 * The `exp` claim of a JWT in epoch milliseconds, read WITHOUT verifying the signature: it only bounds how long
 * a TokenReview answer is cached, and the review itself is what verifies the token. Undefined when absent/unreadable.
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1]!.length > 8192) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
