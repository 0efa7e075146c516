import { PodpulseError } from '../src/errors.ts';
import type { CheckKind } from '../src/protocol/checks/check-config.ts';
import type { CheckDefinition } from './check.ts';
import { cgroupCheck } from './cgroup-check.ts';
import { clockCheck } from './clock-check.ts';
import { diskCheck } from './disk-check.ts';
import { dnsCheck } from './dns-check.ts';
import { envCheck } from './env-check.ts';
import { execCheck } from './exec-check.ts';
import { fdCheck } from './fd-check.ts';
import { fileCheck } from './file-check.ts';
import { httpCheck } from './http-check.ts';
import { mountCheck } from './mount-check.ts';
import { portCheck } from './port-check.ts';
import { processCheck } from './process-check.ts';
import { tcpCheck } from './tcp-check.ts';
import { tlsCheck } from './tls-check.ts';

/** Every check kind, keyed by kind; the protocol's CHECK_SPECS has the same keys (a test holds them equal). */
export const CHECKS: { readonly [K in CheckKind]: CheckDefinition<K> } = {
  dns: dnsCheck,
  tcp: tcpCheck,
  http: httpCheck,
  tls: tlsCheck,
  disk: diskCheck,
  mount: mountCheck,
  file: fileCheck,
  env: envCheck,
  clock: clockCheck,
  cgroup: cgroupCheck,
  process: processCheck,
  port: portCheck,
  exec: execCheck,
  fd: fdCheck,
};

/** The definition of a kind; an unknown kind is a clear error (configs are validated first, so this is a bug guard). */
export function checkFor<K extends CheckKind>(kind: K): CheckDefinition<K> {
  const def = (CHECKS as Record<string, CheckDefinition<CheckKind> | undefined>)[kind];
  if (!def) throw new PodpulseError('PODPULSE_ERR_INTERNAL', `unknown check kind "${kind}"; known: ${Object.keys(CHECKS).join(', ')}`);
  return def as unknown as CheckDefinition<K>;
}
