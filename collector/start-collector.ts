import type { AddressInfo } from 'node:net';
import type { Logger } from '../src/log/logger.ts';
import { ms } from '../src/units.ts';
import { buildServer } from './api/build-server.ts';
import type { AgentHints } from './api/heartbeats-route.ts';
import { IngestMetrics } from './api/ingest-metrics.ts';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from './auth/agent-identity.ts';
import { createAuthenticator } from './auth/create-authenticator.ts';
import { OperatorAuth } from './auth/operator-auth.ts';
import { bytes, type CollectorConfig } from './config.ts';
import { registerAuditHook } from './control/audit/audit-hook.ts';
import { AuditLog } from './control/audit/audit-log.ts';
import { auditRoute } from './control/audit/audit-route.ts';
import { createCommandChannel } from './control/commands/command-channel.ts';
import { GroupCommitter, type OnCommitted } from './ingest/group-committer.ts';
import { readRoutes } from './api/read/read-routes.ts';
import { startControlPlane } from './control/control-plane.ts';
import { DiagnosisRuntime, type DiagnosisControl } from './diagnosis/diagnosis-runtime.ts';
import { openStore } from './store/open-store.ts';
import { injectionRoutes } from './webhook/injection-routes.ts';
import { startWebhook, type RunningWebhook } from './webhook/start-webhook.ts';
import type { Store } from './store/store.ts';
import type { Clock } from './engine/clock.ts';
import { startEngine, type RunningEngine } from './engine/start-engine.ts';

/** How long a closing collector waits for open connections before cutting them. */
const CLOSE_GRACE_MS = 5_000;

/** What a route group needs from the running collector. */
export interface CollectorContext {
  config: CollectorConfig;
  log: Logger;
  store: Store;
  authenticator: Authenticator;
  operatorAuth: OperatorAuth;
  /** The audit log: mutating operator requests are audited by a hook; routes add details through `req.audit`. */
  audit: AuditLog;
  /** The running diagnosis: what it holds in memory (instances, open events) beyond the store. */
  diagnosis: DiagnosisRuntime;
}

export interface StartOptions {
  /** Called after each committed batch with the new heartbeats, after the built-in diagnosis has seen them. */
  onCommitted?: OnCommitted;
  hints?: AgentHints;
  /** Extra route groups, registered after the built-in ones. */
  routes?: readonly ((app: FastifyInstance, ctx: CollectorContext) => void)[];
  /** Whether this replica leads (leader election); the webhook's caBundle is patched by the leader only. */
  isLeader?: () => boolean;
  /** For the watch engine (`engine.enabled`): the clock of rule durations (tests pass a ManualClock). */
  engineClock?: Clock;
}

export interface RunningCollector {
  url: string;
  store: Store;
  /** For the watch engine: Kubernetes facts, and whether this replica runs the time-driven diagnosis (leader). */
  diagnosis: DiagnosisControl & Pick<DiagnosisRuntime, 'tick' | 'settled' | 'diagnoser'>;
  /** The admission webhook's TLS listener, when `webhook.enabled`. */
  webhook?: RunningWebhook;
  /** The watch-based diagnosis engine, when `engine.enabled`. */
  engine?: RunningEngine;
  /** Stops accepting, answers in-flight requests after their commit, closes the store. */
  close(): Promise<void>;
}

/** Opens and migrates the store, builds auth, the group committer and the server, and listens. */
export async function startCollector(config: CollectorConfig, log: Logger, opts: StartOptions = {}): Promise<RunningCollector> {
  const store = openStore(config.store);
  await store.migrate();
  const authenticator = await createAuthenticator(config.auth, log);
  if (authenticator.mode === 'none') {
    const msg = 'INSECURE: agent authentication is OFF (--insecure-no-auth): anyone who can reach this port can post heartbeats for any pod. Use only for a local demo.';
    log.warn({ auth: 'none' }, msg);
    process.stderr.write(`\n*** ${msg} ***\n\n`);
  }
  const operatorAuth = authenticator.mode === 'none' ? OperatorAuth.none() : config.operators.tokensFile ? OperatorAuth.fromFile(config.operators.tokensFile) : OperatorAuth.fromTokens({ tokens: [] });
  if (operatorAuth.mode === 'tokens' && !config.operators.tokensFile) log.warn('no operators.tokensFile: the operator API answers 401 to everyone');
  const audit = new AuditLog(store, log.child({ component: 'audit' }));
  const commands = createCommandChannel({ config: config.commands, store, audit, log: log.child({ component: 'commands' }) });
  const control = await startControlPlane(config, store, log);
  const metrics = new IngestMetrics(store.kind);
  metrics.observeFleet(store);
  const diagnosis = new DiagnosisRuntime({ config, store, log: log.child({ component: 'diagnosis' }), metrics });
  await diagnosis.start();
  const extraOnCommitted = opts.onCommitted;
  const onCommitted: OnCommitted = extraOnCommitted
    ? (hbs, at) => {
        diagnosis.onCommitted(hbs, at);
        extraOnCommitted(hbs, at);
      }
    : diagnosis.onCommitted;
  const ctx: CollectorContext = { config, log, store, authenticator, operatorAuth, audit, diagnosis };
  // What start-up opened, in order. When a later step fails nothing is listening yet: release it all (newest first)
  // so that a caller that handles the error leaks nothing.
  const opened: (() => Promise<void>)[] = [() => store.close(), async () => authenticator.close?.(), () => diagnosis.close(), () => control.close(), () => commands.close()];
  const abandon = async (err: unknown): Promise<never> => {
    for (const release of opened.reverse()) await release().catch(() => undefined);
    throw err;
  };
  const engine = config.engine.enabled
    ? await startEngine({
        config: config.engine,
        store,
        log,
        diagnosis,
        sidecar: config.webhook.injection.containerName,
        source: config.events.source,
        onEvent: (e) => diagnosis.sink?.enqueue(e),
        ...(opts.engineClock ? { clock: opts.engineClock } : {}),
      }).catch(abandon)
    : undefined;
  if (engine) opened.push(() => engine.stop());
  const isLeader = opts.isLeader ?? (engine ? () => engine.isLeader : undefined);
  const webhook = config.webhook.enabled
    ? await startWebhook({ config: config.webhook, log, store, ...(isLeader ? { isLeader } : {}) }).catch(abandon)
    : undefined;
  const retryAfterSeconds = Math.max(1, Math.ceil(ms(config.limits.retryAfter) / 1000));
  const baseHints: AgentHints = opts.hints ?? ((id, hbs) => ({ configRevision: control.configRevisionFor(id, hbs), commandsPending: false }));
  const hints: AgentHints = (id, hbs) => {
    const h = baseHints(id, hbs);
    return { ...h, commandsPending: h.commandsPending || commands.commandsPending(id, hbs) };
  };
  const committer = new GroupCommitter({
    store,
    maxBatchRows: config.limits.batchHeartbeats,
    maxQueuedRows: config.limits.queueHeartbeats,
    lingerMs: ms(config.limits.commitDelay),
    maxInFlight: store.kind === 'postgres' ? Math.max(1, Math.min(4, config.store.maxConnections - 1)) : 1,
    onCommitted,
    observe: metrics.committerObserver(),
    log: log.child({ component: 'ingest' }),
  });
  const app = buildServer({
    log,
    store,
    committer,
    authenticator,
    metrics,
    limits: { bodyBytes: bytes(config.limits.bodyBytes), decompressedBytes: bytes(config.limits.decompressedBytes) },
    retryAfterSeconds,
    hints,
    routes: [
      (a: FastifyInstance) => registerAuditHook(a, { audit, operatorAuth, log }),
      (a: FastifyInstance) => auditRoute(a, { audit, operatorAuth }),
      (a: FastifyInstance) => commands.register(a, { authenticator, operatorAuth, retryAfterSeconds, instanceTemplates: (i) => control.center.effectiveFor(i).config.commandTemplates }),
      (a: FastifyInstance) => readRoutes(a, { store, operatorAuth, diagnosis, metrics }),
      (a: FastifyInstance) => control.register(a, { authenticator, operatorAuth, retryAfterSeconds }),
      (a: FastifyInstance) => injectionRoutes(webhook?.reportMissing)(a, ctx),
      ...(engine ? [(a: FastifyInstance) => engine.routes(a, ctx)] : []),
      ...(opts.routes ?? []).map((r) => (a: FastifyInstance) => r(a, ctx)),
    ],
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  log.info({ url, store: store.kind, auth: authenticator.mode }, 'collector listening');

  const r = config.retention;
  const retention = { transitionsMs: ms(r.transitions), rollupsMs: ms(r.rollups), eventsMs: ms(r.events), dedupMs: ms(r.dedup), instancesMs: ms(r.instances) };
  const pruner = setInterval(() => {
    const now = Date.now();
    Promise.all([commands.queue.prune(now - ms(r.commands)), audit.prune(now - ms(r.audit))]).then(
      ([c, a]) => log.debug({ commands: c, audit: a }, 'pruned old commands and audit entries'),
      (err: unknown) => log.warn({ err }, 'pruning commands and audit entries failed; will retry'),
    );
    store.prune(retention, now).then(
      (p) => log.debug({ deleted: p.deleted }, 'pruned old rows'),
      (err: unknown) => log.warn({ err }, 'prune failed; will retry'),
    );
  }, ms(r.pruneEvery));
  pruner.unref();

  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    diagnosis,
    ...(webhook ? { webhook } : {}),
    ...(engine ? { engine } : {}),
    close: () =>
      (closing ??= (async () => {
        clearInterval(pruner);
        // Long polls are released first, or closing would wait for each to run out its wait.
        await commands.close();
        await control.close();
        await webhook?.close();
        // Idle keep-alive connections are closed at once; one that still looks busy (a client that sent half a
        // request, or never read its answer) would hold the close for the request or keep-alive timeout, past the
        // pod's termination grace, so whatever is left after a few seconds is cut. In-flight heartbeats are
        // answered well within that.
        const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
        await app.close();
        clearTimeout(cut);
        await committer.close();
        await engine?.stop();
        await diagnosis.close();
        await authenticator.close?.();
        await store.close();
      })()),
  };
}
