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
import { GroupCommitter, type OnCommitted } from './ingest/group-committer.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';

/** What a route group needs from the running collector. */
export interface CollectorContext {
  config: CollectorConfig;
  log: Logger;
  store: Store;
  authenticator: Authenticator;
  operatorAuth: OperatorAuth;
}

export interface StartOptions {
  /** The diagnosis seam: called after each committed batch with the new heartbeats. */
  onCommitted?: OnCommitted;
  hints?: AgentHints;
  /** Extra route groups, registered after the built-in ones. */
  routes?: readonly ((app: FastifyInstance, ctx: CollectorContext) => void)[];
}

export interface RunningCollector {
  url: string;
  store: Store;
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
  const ctx: CollectorContext = { config, log, store, authenticator, operatorAuth };
  const metrics = new IngestMetrics(store.kind);
  const committer = new GroupCommitter({
    store,
    maxBatchRows: config.limits.batchHeartbeats,
    maxQueuedRows: config.limits.queueHeartbeats,
    lingerMs: ms(config.limits.commitDelay),
    maxInFlight: store.kind === 'postgres' ? Math.max(1, Math.min(4, config.store.maxConnections - 1)) : 1,
    onCommitted: opts.onCommitted,
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
    retryAfterSeconds: Math.max(1, Math.ceil(ms(config.limits.retryAfter) / 1000)),
    ...(opts.hints ? { hints: opts.hints } : {}),
    routes: (opts.routes ?? []).map((r) => (a: FastifyInstance) => r(a, ctx)),
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  log.info({ url, store: store.kind, auth: authenticator.mode }, 'collector listening');

  const r = config.retention;
  const retention = { transitionsMs: ms(r.transitions), rollupsMs: ms(r.rollups), eventsMs: ms(r.events), dedupMs: ms(r.dedup), instancesMs: ms(r.instances) };
  const pruner = setInterval(() => {
    store.prune(retention, Date.now()).then(
      (p) => log.debug({ deleted: p.deleted }, 'pruned old rows'),
      (err: unknown) => log.warn({ err }, 'prune failed; will retry'),
    );
  }, ms(r.pruneEvery));
  pruner.unref();

  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    close: () =>
      (closing ??= (async () => {
        clearInterval(pruner);
        await app.close();
        await committer.close();
        await authenticator.close?.();
        await store.close();
      })()),
  };
}
