import type { CheckKind } from '../src/protocol/checks/check-config.ts';
import type { CheckDefinition } from './check.ts';

/** Loads one check kind's module on first use. */
export type CheckLoader<K extends CheckKind> = () => Promise<CheckDefinition<K>>;

/**
 * Every check kind, keyed by kind, as a loader; the protocol's CHECK_SPECS has the same keys (a test holds them
 * equal). A kind's module, and the builtins it needs (node:tls, node:dgram, node:child_process, ...), load only when
 * a configured check of that kind first runs: `node:tls` alone is about 3 MB of private memory (OpenSSL's state),
 * which a pod without a tls check or https URL never pays. esbuild inlines each module behind its dynamic import,
 * wrapped so that it runs only when imported, so the worker stays one file (docs/worker-footprint.md).
 */
export const CHECKS: { readonly [K in CheckKind]: CheckLoader<K> } = {
  dns: async () => (await import('./dns-check.ts')).dnsCheck,
  tcp: async () => (await import('./tcp-check.ts')).tcpCheck,
  http: async () => (await import('./http-check.ts')).httpCheck,
  tls: async () => (await import('./tls-check.ts')).tlsCheck,
  disk: async () => (await import('./disk-check.ts')).diskCheck,
  mount: async () => (await import('./mount-check.ts')).mountCheck,
  file: async () => (await import('./file-check.ts')).fileCheck,
  env: async () => (await import('./env-check.ts')).envCheck,
  clock: async () => (await import('./clock-check.ts')).clockCheck,
  cgroup: async () => (await import('./cgroup-check.ts')).cgroupCheck,
  process: async () => (await import('./process-check.ts')).processCheck,
  port: async () => (await import('./port-check.ts')).portCheck,
  exec: async () => (await import('./exec-check.ts')).execCheck,
  fd: async () => (await import('./fd-check.ts')).fdCheck,
};
