// The watch engine against the real kube-apiserver v1.20 tier (PODPULSE_K8S=1; test/helpers/real-apiserver.global-setup.ts).
// 410 and compaction on the real server are covered in kube/real-apiserver.test.ts, which restarts the server.
import { inject } from 'vitest';
import { engineClusterSuite } from './engine-cluster-suite.ts';

const stack = inject('realApiserver');

engineClusterSuite({
  title: 'the watch engine against a real kube-apiserver v1.20 (PODPULSE_K8S=1)',
  enabled: stack !== null,
  start: () => Promise.resolve(stack!.kubeconfig),
  legacyServer: true,
});
