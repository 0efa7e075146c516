// The watch engine against a current Kubernetes: k3s in a container where a Docker engine is reachable, or any cluster
// named by PODPULSE_TEST_KUBECONFIG (the test creates and deletes its own namespace). Skips visibly otherwise.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K3sContainer, type StartedK3sContainer } from '@testcontainers/k3s';
import { getContainerRuntimeClient } from 'testcontainers';
import { engineClusterSuite } from './engine-cluster-suite.ts';

const given = process.env.PODPULSE_TEST_KUBECONFIG;
let docker = false;
if (!given) {
  try {
    await getContainerRuntimeClient();
    docker = true;
  } catch {
    console.warn('[engine k3s] SKIPPED: no container engine (Docker) reachable and no PODPULSE_TEST_KUBECONFIG given');
  }
}

let k3s: StartedK3sContainer | undefined;
engineClusterSuite({
  title: given ? `the watch engine against the cluster of ${given}` : 'the watch engine against k3s',
  enabled: Boolean(given) || docker,
  start: async () => {
    if (given) return given;
    k3s = await new K3sContainer('rancher/k3s:v1.31.4-k3s1').start();
    const file = join(mkdtempSync(join(tmpdir(), 'podpulse-k3s-engine-')), 'kubeconfig');
    writeFileSync(file, k3s.getKubeConfig());
    return file;
  },
  stop: async () => {
    await k3s?.stop();
  },
  legacyServer: false,
});
