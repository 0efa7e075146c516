import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

/** What start.sh writes to stack.json: where the real kube-apiserver v1.20 tier runs. */
export interface RealApiserver {
  server: string;
  kubeconfig: string;
  tokenFile: string;
  caFile: string;
  caKeyFile: string;
  etcd: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    realApiserver: RealApiserver | null;
  }
}

const scripts = fileURLToPath(new URL('../../../shared/k8s-apiserver/', import.meta.url));

/**
 * The real-apiserver tier runs only with PODPULSE_K8S=1 (.ci/run sets it): ensure.sh builds kube-apiserver v1.20.2
 * once (cached), start.sh starts it with etcd on loopback. Otherwise every test of the tier skips, visibly.
 */
export default function setup(project: TestProject): (() => void) | undefined {
  if (process.env.PODPULSE_K8S !== '1') {
    console.warn('[real-apiserver] tier SKIPPED: set PODPULSE_K8S=1 to build and start kube-apiserver v1.20.2 on loopback');
    project.provide('realApiserver', null);
    return undefined;
  }
  if (!existsSync(`${scripts}ensure.sh`)) {
    // A clone without the shared folder beside it has no scripts to build the server with.
    console.warn(`[real-apiserver] tier SKIPPED: PODPULSE_K8S=1 but ${scripts} does not exist (clone the repository beside shared/)`);
    project.provide('realApiserver', null);
    return undefined;
  }
  const run = process.env.PODPULSE_K8S_RUN ?? '/tmp/podpulse-k8s';
  execFileSync(`${scripts}ensure.sh`, { stdio: 'inherit', timeout: 20 * 60_000 });
  execFileSync(`${scripts}start.sh`, { stdio: 'inherit', timeout: 120_000 });
  project.provide('realApiserver', JSON.parse(readFileSync(`${run}/stack.json`, 'utf8')) as RealApiserver);
  return () => {
    if (process.env.PODPULSE_K8S_KEEP !== '1') execFileSync(`${scripts}stop.sh`, ['--wipe'], { stdio: 'inherit' });
  };
}
