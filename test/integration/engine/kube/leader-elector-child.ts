// A replica for the leader-election tests: campaigns for a Lease and prints `leading` / `stopped` lines, so the
// test can SIGKILL the leader's process (no release, no goodbye) and watch the other replica take over.
import { createLogger } from '../../../../src/log/logger.ts';
import { KubeClient } from '../../../../collector/engine/kube/kube-client.ts';
import { LeaderElector } from '../../../../collector/engine/kube/leader-elector.ts';

const [kubeconfig, namespace, name, identity] = process.argv.slice(2);
if (!kubeconfig || !namespace || !name || !identity) throw new Error('usage: leader-elector-child.ts KUBECONFIG NAMESPACE NAME IDENTITY');
const elector = new LeaderElector({
  client: KubeClient.fromFile(kubeconfig),
  log: createLogger({ name: 'elector', level: 'silent' }),
  namespace,
  name,
  identity,
  leaseDurationMs: Number(process.env.LEASE_MS ?? 2000),
  renewDeadlineMs: Number(process.env.RENEW_MS ?? 1500),
  retryPeriodMs: Number(process.env.RETRY_MS ?? 250),
  onStartedLeading: () => void process.stdout.write(`leading ${Date.now()}\n`),
  onStoppedLeading: () => void process.stdout.write(`stopped ${Date.now()}\n`),
});
elector.start();
process.on('SIGTERM', () => void elector.stop().then(() => process.exit(0)));
