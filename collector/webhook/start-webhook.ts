import type { Logger } from '../../src/log/logger.ts';
import { ms } from '../../src/units.ts';
import type { Store } from '../store/store.ts';
import { ensureCaBundle } from './ca-bundle.ts';
import { watchCertFiles } from './cert-files.ts';
import { CertRotator } from './cert-rotator.ts';
import { supportsNativeSidecars } from './cluster-version.ts';
import { readDaemonConfig, watchDaemonConfig } from './daemon-config-source.ts';
import type { InjectionContext } from './inject-pod.ts';
import { KubeClient } from './kube-client.ts';
import { recordMissingEvent } from './missing-event.ts';
import { findPodsMissingSidecar, type MissingReport } from './missing-report.ts';
import { createMutateHandler } from './mutate-handler.ts';
import { KubeTlsSecretStore, MemoryTlsSecretStore, type TlsSecretStore } from './tls-secret-store.ts';
import type { WebhookConfig } from './webhook-config.ts';
import { startWebhookServer } from './webhook-server.ts';

export interface StartWebhookOptions {
  config: WebhookConfig;
  log: Logger;
  store: Store;
  /**
   * The API client; `null` runs without Kubernetes (local runs, tests): certificates stay in memory, no caBundle
   * is patched, no missing-sidecar report runs, and `auto` means classic. Built from `config.kubeconfig` (or the
   * in-cluster ServiceAccount) when undefined.
   */
  kube?: KubeClient | null;
  /** Overrides where the TLS material is kept (tests). */
  secretStore?: TlsSecretStore;
  /** Whether this replica leads; only the leader patches the caBundle. Every replica writes the same bundle, so without leader election (one replica) `() => true` is right. */
  isLeader?: () => boolean;
  /** The `source` of events this collector emits. */
  eventSource?: string;
}

export interface RunningWebhook {
  url: string;
  /** Runs the missing-sidecar report now and records its event; undefined without Kubernetes. */
  reportMissing?: () => Promise<MissingReport>;
  /** Whether native sidecars are used for `auto` (from the server version). */
  nativeSupported(): boolean;
  rotator?: CertRotator;
  close(): Promise<void>;
}

const VERSION_EVERY_MS = 10 * 60_000;
const DAEMON_CONFIG_EVERY_MS = 30_000;

/** Starts the admission webhook: its certificate, its TLS listener, version detection and the missing-sidecar report. */
export async function startWebhook(o: StartWebhookOptions): Promise<RunningWebhook> {
  const cfg = o.config;
  const log = o.log.child({ component: 'webhook' });
  const kube = o.kube === undefined ? await KubeClient.fromKubeconfig(cfg.kubeconfig) : o.kube;
  const isLeader = o.isLeader ?? (() => true);
  const stops: (() => unknown)[] = [];

  let daemonConfig = cfg.injection.daemonConfigFile ? await readDaemonConfig(cfg.injection.daemonConfigFile) : undefined;
  if (cfg.injection.daemonConfigFile) {
    stops.push(watchDaemonConfig(cfg.injection.daemonConfigFile, DAEMON_CONFIG_EVERY_MS, daemonConfig!, (t) => {
      daemonConfig = t;
      log.info({ file: cfg.injection.daemonConfigFile }, 'sidecar daemon config changed; new pods get the new one');
    }, (err) => log.error({ err }, 'sidecar daemon config is invalid; new pods keep getting the previous one')));
  }

  let native = false;
  const detect = async () => {
    if (!kube) return;
    try {
      const v = await kube.version();
      const next = supportsNativeSidecars(v);
      if (next !== native) log.info({ server: v.gitVersion, native: next }, 'sidecar form for sidecarMode auto');
      native = next;
    } catch (err) {
      log.warn({ err }, `cannot read the server version; sidecarMode auto keeps the ${native ? 'native' : 'classic'} form`);
    }
  };
  await detect();
  const versionTimer = setInterval(() => void detect(), VERSION_EVERY_MS);
  versionTimer.unref();
  stops.push(() => clearInterval(versionTimer));

  const context = (): InjectionContext => ({ config: cfg.injection, ownNamespace: cfg.namespace, nativeSupported: native, daemonConfig });
  const mutate = createMutateHandler({
    context,
    log,
    onInjected: (p) => log.info(p, 'sidecar injected'),
  });

  const t = cfg.tls;
  // The rotator and the file watcher start before the server they feed; certificates go through this once it is up.
  const swap: { to?: (cert: string, key: string) => void } = {};
  let rotator: CertRotator | undefined;
  let initial: { cert: string; key: string };
  if (t.mode === 'files') {
    const w = await watchCertFiles({ certFile: t.certFile, keyFile: t.keyFile, checkEveryMs: ms(t.checkEvery), log, onChange: (c) => swap.to?.(c.cert, c.key) });
    stops.push(w.stop);
    initial = w.initial;
  } else {
    const svc = t.serviceName;
    const ns = cfg.namespace;
    rotator = new CertRotator({
      store: o.secretStore ?? (kube ? new KubeTlsSecretStore(kube, ns, t.secretName) : new MemoryTlsSecretStore()),
      policy: {
        names: [`${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`, `${svc}.${ns}`, svc, ...t.extraNames],
        certValidityMs: ms(t.certValidity),
        renewBeforeMs: ms(t.renewBefore),
        caValidityMs: ms(t.caValidity),
        caRenewBeforeMs: ms(t.caRenewBefore),
      },
      checkEveryMs: ms(t.checkEvery),
      log,
      onMaterial: (m) => swap.to?.(m.cert, m.key),
      afterSync: async (m) => {
        if (!kube) return;
        try {
          const r = await ensureCaBundle(kube, cfg.configurationName, m.caBundle, isLeader());
          if (r === 'patched') log.info({ webhook: cfg.configurationName }, 'caBundle updated');
        } catch (err) {
          log.warn({ err }, 'cannot update the caBundle; will retry at the next check');
        }
      },
    });
    initial = await rotator.start();
    stops.push(() => rotator!.stop());
  }
  const server = await startWebhookServer({ host: cfg.listen.host, port: cfg.listen.port, cert: initial.cert, key: initial.key, mutate, log });
  swap.to = (cert, key) => server.setCertificate(cert, key);
  log.info({ url: server.url, tls: t.mode }, 'admission webhook listening');

  let reportMissing: RunningWebhook['reportMissing'];
  if (kube) {
    const source = o.eventSource ?? `podpulse/collector/${cfg.namespace}`;
    reportMissing = async () => {
      const report = await findPodsMissingSidecar(kube, { ownNamespace: cfg.namespace, containerName: cfg.injection.containerName });
      await recordMissingEvent(o.store, report, source);
      return report;
    };
    const timer = setInterval(() => {
      if (!isLeader()) return;
      reportMissing!().then(
        (r) => r.missing.length > 0 && log.warn({ missing: r.missing.length, namespaces: r.namespaces.length }, 'pods in opted-in namespaces lack the sidecar'),
        (err: unknown) => log.warn({ err }, 'missing-sidecar report failed'),
      );
    }, ms(cfg.missingReportEvery));
    timer.unref();
    stops.push(() => clearInterval(timer));
  }

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    ...(reportMissing ? { reportMissing } : {}),
    nativeSupported: () => native,
    ...(rotator ? { rotator } : {}),
    close: () =>
      (closing ??= (async () => {
        for (const s of stops) await s();
        await server.close();
        if (kube && o.kube === undefined) kube.close();
      })()),
  };
}
