/**
 * The node flags the collector is deployed with: the image's command, the manifests' args and `npm start` pass
 * them before the bundle (test/unit/collector/node-flags.test.ts keeps those in step), and the benchmarks start it
 * the same way.
 *
 * `--max-semi-space-size=8`: V8's young generation may grow to 8 MB per semi-space under load. Pinned at its
 * initial 1 MB, it was scavenged a few hundred times a second at full ingest and objects of requests still in
 * flight were promoted: a fifth of the collector's CPU went to the garbage collector. Left to V8's default on a
 * host with a few GB of RAM, it grows to 64 MB per semi-space (128 MB of new space, all of it resident) for no
 * gain (docs/collector-memory.md). The cap can only be set on the command line: once the heap exists, V8 no longer
 * reads it.
 */
export const COLLECTOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/**
 * Where the image keeps the collector bundle's V8 code cache (NODE_COMPILE_CACHE in the Deployment). The Dockerfile
 * makes it at build time by running the bundle once (`--check-config`), so a collector starts from compiled code
 * instead of parsing a 4 MB bundle: the memory V8 used to parse it, about 25 MB that the allocator never returned
 * to the kernel, is never taken (docs/collector-memory.md). Node reads the cache only for the same bundle and the
 * same Node build, and starts normally without it; the directory is read-only at run time.
 */
export const COLLECTOR_COMPILE_CACHE = '/opt/podpulse/compile-cache';
