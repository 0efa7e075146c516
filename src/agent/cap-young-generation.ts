/**
 * Keeps V8's young generation at its initial 1 MB semi-space: by default it doubles under allocation bursts up to
 * 16 MB per semi-space (32 MB of new space) and shrinks back only lazily, while an agent allocating a few KB per
 * check run or sample gains nothing from a big nursery. Unlike --max-semi-space-size, which only works as a process
 * flag, the growth factor is read at every resize and so takes effect from here.
 *
 * A process started with --max-semi-space-size (the worker as the daemon forks it, the daemon in the sidecar image)
 * is capped already, so `node:v8` is not loaded for it: that module and what it pulls in (heap utilities, the
 * serializer, worker_threads) are about 0.4 MB of private memory (docs/worker-footprint.md).
 */
export function capYoungGeneration(): void {
  if (startedWithSemiSpaceCap()) return;
  process.getBuiltinModule('node:v8').setFlagsFromString('--semi-space-growth-factor=1');
}

/** Whether the process was started with --max-semi-space-size (on its command line or in NODE_OPTIONS). */
export function startedWithSemiSpaceCap(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((f) => f.startsWith('--max-semi-space-size') || f.startsWith('--max_semi_space_size'));
}
