/** An Error as a log line carries it: what pino's standard `err` serializer writes. */
export interface SerializedError {
  type: string;
  message: string;
  stack: string;
  aggregateErrors?: SerializedError[];
  [key: string]: unknown;
}

/**
 * `{ type, message, stack }` plus the error's own enumerable fields (`code`, `errno`, …). A chain of causes is
 * folded in as pino does it: `message` is `outer: inner` and `stack` ends with `caused by: <inner stack>`; the
 * members of an AggregateError are listed under `aggregateErrors`.
 */
export function serializeError(err: Error, seen: Set<Error> = new Set()): SerializedError {
  seen.add(err);
  const out: SerializedError = {
    type: (Object.getPrototypeOf(err) as { constructor?: { name?: string } } | null)?.constructor?.name || err.name,
    message: messageWithCauses(err),
    stack: stackWithCauses(err),
  };
  if (err instanceof AggregateError && Array.isArray(err.errors)) {
    out.aggregateErrors = (err.errors as unknown[]).filter((e): e is Error => e instanceof Error && !seen.has(e)).map((e) => serializeError(e, seen));
  }
  for (const key of Object.keys(err)) {
    if (key in out || key === 'cause') continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    if (value instanceof Error) {
      if (!seen.has(value)) out[key] = serializeError(value, seen);
    } else out[key] = value;
  }
  return out;
}

/** The error and its causes, outermost first; a cause seen before ends the chain (a cycle). */
function causeChain(err: Error): Error[] {
  const chain: Error[] = [];
  for (let e: Error | undefined = err; e && !chain.includes(e); e = e.cause instanceof Error ? e.cause : undefined) chain.push(e);
  return chain;
}

function messageWithCauses(err: Error): string {
  return causeChain(err).map((e) => e.message).filter(Boolean).join(': ');
}

function stackWithCauses(err: Error): string {
  return causeChain(err).map((e) => e.stack ?? `${e.name}: ${e.message}`).join('\ncaused by: ');
}
