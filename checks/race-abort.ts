/** What raceAbort resolves to when the signal fired first. */
export const ABORTED: unique symbol = Symbol('aborted');

/**
 * Settles like `op`, or with ABORTED as soon as `signal` fires, whichever comes first. The operation is not
 * cancelled (a file-system call stuck in the kernel cannot be); its late result or error is dropped here, so the
 * caller must release whatever a late success holds (see the `op` it builds).
 */
export function raceAbort<T>(op: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) {
    op.catch(() => undefined);
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    op.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
