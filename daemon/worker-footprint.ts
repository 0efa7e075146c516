/**
 * Process-start settings that keep the worker's private memory small; docs/worker-footprint.md has the figures.
 * They can only be given when the process starts, which is why the daemon passes them at the fork.
 */

/**
 * - `--max-semi-space-size=1`: the young generation stays at 1 MB per semi-space instead of growing to 16 MB.
 * - `--v8-pool-size=1`: one V8 platform thread instead of one per core (its GC pauses are sub-millisecond anyway).
 * - `--optimize-for-size`: V8's memory-saving mode; above all a young generation of a few hundred KB instead of
 *   1 MB per semi-space.
 * - `--no-sparkplug`: no baseline machine code beside the bytecode; the worker's functions run a few times every
 *   ten seconds, so the baseline tier saved no measurable CPU and its code stayed in memory.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1', '--optimize-for-size', '--no-sparkplug'];

/**
 * - `MALLOC_ARENA_MAX=1`: every thread allocates from one glibc arena instead of one each; the worker's threads are
 *   mostly idle, so there is no contention, and the per-thread arenas' fragmented free memory goes away.
 * - `MALLOC_TRIM_THRESHOLD_=131072`: free memory above 128 KiB at the top of the heap goes back to the kernel
 *   (glibc's dynamic threshold otherwise rises to 32 MiB after the first large free).
 */
export const WORKER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1', MALLOC_TRIM_THRESHOLD_: '131072' };
