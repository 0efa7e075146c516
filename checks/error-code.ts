/**
 * The `code` of an error from Node, looking through `cause` and AggregateError members: a connection attempted on
 * several addresses (happy eyeballs) fails with an AggregateError of per-address errors.
 */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const members = (e as { errors?: unknown }).errors;
    if (Array.isArray(members) && members.length > 0) {
      const inner = errorCode(members[0]);
      if (inner) return inner;
    }
    const next = (e as { cause?: unknown }).cause;
    if (next === undefined) return undefined;
    e = next;
  }
  return undefined;
}

/** An error's message, whatever was thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
