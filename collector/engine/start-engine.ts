import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../src/log/logger.ts';
import type { DiagnosisEvent } from '../../src/protocol/index.ts';
import { ms } from '../../src/units.ts';
import type { DiagnosisControl } from '../diagnosis/diagnosis-runtime.ts';
import { KubeFactsIndex } from '../diagnosis/kube-facts-index.ts';
import type { CollectorContext } from '../start-collector.ts';
import type { Store } from '../store/store.ts';
import { systemClock, type Clock } from './clock.ts';
import type { EngineConfig } from './engine-config.ts';
import { KindWatch } from './kind-watch.ts';
import { KubeClient } from './kube/kube-client.ts';
import { LeaderElector } from './kube/leader-elector.ts';
import type { ObjectEvent } from './kube/object-event.ts';
import { pathProjection } from './kube/projection.ts';
import { LeaderTerm } from './leader-term.ts';
import { kindInfo } from './rules/kinds.ts';
import { RuleRegistry } from './rules/rule-registry.ts';
import { ruleRoutes } from './rules/rule-routes.ts';

export interface EngineStartOptions {
  config: EngineConfig;
  store: Store;
  log: Logger;
  diagnosis: DiagnosisControl;
  /** The sidecar's container name (the webhook's `injection.containerName`). */
  sidecar?: string;
  /** Time for rule durations; tests pass a ManualClock. */
  clock?: Clock;
  /** The API client; built from `config.kubeconfig` (or the in-cluster account) when not given. */
  client?: KubeClient;
  /** CloudEvents `source` of rule events. */
  source?: string;
  /** Each rule event as stored (firing, resolved), for the event sinks. */
  onEvent?: (e: DiagnosisEvent) => void;
}

export interface RunningEngine {
  readonly identity: string;
  readonly registry: RuleRegistry;
  /** What the diagnosis knows of pods, nodes and ReplicaSets (filled while this replica leads). */
  readonly facts: KubeFactsIndex;
  /** Whether this replica holds the Lease (the webhook patches its caBundle only then). */
  readonly isLeader: boolean;
  /** The running term while leading: the rule engine and the watches. */
  readonly term: LeaderTerm | undefined;
  /** The rules API (`/api/v1/rules`), for the collector's route seam. */
  readonly routes: (app: FastifyInstance, ctx: CollectorContext) => void;
  /** Stops: a leader stops its watches (watermarks flushed) and releases the Lease so another takes over at once. */
  stop(): Promise<void>;
}

/** POD_NAME (the downward API) when set, else hostname and pid: unique among replicas. */
export function engineIdentity(config: EngineConfig): string {
  return config.leaderElection.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
}

/**
 * Starts the watch-based diagnosis engine in the collector. Every replica serves the rules API, follows the rules
 * ConfigMap and campaigns for the Lease; the leader alone runs the reflectors, the rule engine, the time-driven
 * diagnosis and the webhook's caBundle patching. Resolves without waiting for the apiserver: a cluster that cannot
 * be reached is retried in the background and does not stop the collector.
 */
export async function startEngine(o: EngineStartOptions): Promise<RunningEngine> {
  const cfg = o.config;
  const log = o.log.child({ component: 'engine' });
  let client: KubeClient;
  try {
    client = o.client ?? (cfg.kubeconfig ? KubeClient.fromFile(cfg.kubeconfig) : KubeClient.fromDefault());
  } catch (err) {
    const where = cfg.kubeconfig ? `engine.kubeconfig (${cfg.kubeconfig})` : 'engine.kubeconfig unset and no in-cluster account, KUBECONFIG or ~/.kube/config';
    throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
  }
  const identity = engineIdentity(cfg);
  const facts = new KubeFactsIndex(o.sidecar !== undefined ? { sidecar: o.sidecar } : {});
  const backoff = { initialMs: ms(cfg.backoff.initial), maxMs: ms(cfg.backoff.max) };
  const stopping = new AbortController();

  // Leadership changes, rule changes and shutdown run one at a time, in order.
  let chain: Promise<void> = Promise.resolve();
  const serial = (what: string, f: () => Promise<void>): Promise<void> => {
    const run = chain.then(f);
    chain = run.catch((err: unknown) => log.error({ err }, `${what} failed`));
    return chain;
  };

  let term: LeaderTerm | undefined;
  let leading = false;
  // The registry must not wait for the chain: a term that is starting refreshes the registry itself.
  const { registry, skipped } = await RuleRegistry.open(o.store, () => void serial('applying changed rules', async () => term?.applyRules(registry.set)));
  for (const v of skipped) log.warn({ path: v.path, reason: v.message }, 'a stored rule no longer compiles; skipped');

  const cm = cfg.rulesConfigMap;
  const configMapWatch = cm
    ? new KindWatch({
        client,
        resource: kindInfo('ConfigMap')!.resource,
        log,
        namespace: cm.namespace,
        fieldSelector: `metadata.name=${cm.name}`,
        projection: pathProjection([['data']]),
        pageSize: 1,
        streamingList: cfg.streamingList,
        backoff,
        sink: { handle: (ev) => loadConfigMap(ev) },
      })
    : undefined;

  async function loadConfigMap(ev: ObjectEvent): Promise<void> {
    const data = ev.type === 'DELETED' ? {} : ((ev.object.data ?? {}) as Record<string, string>);
    const { loaded, refused } = await registry.loadConfigMap(data);
    log.info({ configMap: `${cm!.namespace}/${cm!.name}`, loaded, refused: refused.length }, 'rules loaded from the ConfigMap');
    for (const v of refused) log.warn({ path: v.path, reason: v.message }, 'rule in the ConfigMap refused');
  }

  const startLeading = (): Promise<void> =>
    serial('starting to lead', async () => {
      if (stopping.signal.aborted) return;
      leading = true;
      // The ConfigMap's rules first: an engine opened without them would drop their persisted states.
      await configMapWatch?.synced(stopping.signal);
      if (stopping.signal.aborted || !leading) return;
      term = await LeaderTerm.begin({
        client,
        store: o.store,
        log,
        clock: o.clock ?? systemClock,
        registry,
        facts,
        diagnosis: o.diagnosis,
        pageSize: cfg.pageSize,
        streamingList: cfg.streamingList,
        backoff,
        rulesRefreshMs: ms(cfg.rulesRefreshInterval),
        ...(o.source !== undefined ? { source: o.source } : {}),
        ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      });
    });

  const stopLeading = (): Promise<void> => {
    leading = false;
    return serial('standing down', async () => {
      leading = false;
      const t = term;
      term = undefined;
      await t?.end();
      o.diagnosis.setLeader(false);
    });
  };

  o.diagnosis.setKubeFacts(facts);
  configMapWatch?.start(true);
  const le = cfg.leaderElection;
  const elector = le.enabled
    ? new LeaderElector({
        client,
        log,
        namespace: le.namespace,
        name: le.name,
        identity,
        leaseDurationMs: ms(le.leaseDuration),
        renewDeadlineMs: ms(le.renewDeadline),
        retryPeriodMs: ms(le.retryPeriod),
        // Not awaited: the elector must keep renewing while the term lists.
        onStartedLeading: () => void startLeading(),
        onStoppedLeading: () => void stopLeading(),
      })
    : undefined;
  // Until the Lease is won, the time-driven diagnosis waits (another replica may be running it).
  o.diagnosis.setLeader(false);
  if (elector) elector.start();
  else void startLeading();
  log.info({ identity, leaderElection: le.enabled ? `${le.namespace}/${le.name}` : 'off', rulesConfigMap: cm ? `${cm.namespace}/${cm.name}` : undefined }, 'watch engine started');

  let stopped: Promise<void> | undefined;
  return {
    identity,
    registry,
    facts,
    get isLeader() {
      return elector ? elector.isLeader : leading;
    },
    get term() {
      return term;
    },
    routes: ruleRoutes(() => registry),
    stop: () =>
      (stopped ??= (async () => {
        stopping.abort();
        // Stand down before the Lease is released: the next leader must find the watermarks and rule states final.
        await stopLeading();
        await elector?.stop();
        await chain;
        await configMapWatch?.stop();
        log.info('watch engine stopped');
      })()),
  };
}
