import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PodpulseError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import type { AgentIdentity, Authenticator } from '../auth/agent-identity.ts';
import type { OperatorAuth } from '../auth/operator-auth.ts';
import { bytes, type CollectorConfig } from '../config.ts';
import type { Store } from '../store/store.ts';
import type { Heartbeat } from '../../src/protocol/heartbeat.ts';
import { ms } from '../../src/units.ts';
import { agentConfigRoute } from './config-center/agent-config-route.ts';
import { ConfigCenter } from './config-center/config-center.ts';
import { configRoutes } from './config-center/config-routes.ts';
import { ControlState } from './control-state.ts';
import { ReleaseRegistry } from './releases/release-registry.ts';
import { releaseRoutes } from './releases/release-routes.ts';
import { RolloutController } from './rollouts/rollout-controller.ts';
import { rolloutRoutes } from './rollouts/rollout-routes.ts';

export interface ControlPlane {
  center: ConfigCenter;
  releases: ReleaseRegistry;
  rollouts: RolloutController;
  /** The heartbeat hint's `configRevision`: the revision of the effective config of the beating instance. */
  configRevisionFor(identity: AgentIdentity, heartbeats: readonly Heartbeat[]): string;
  register(app: FastifyInstance, deps: { authenticator: Authenticator; operatorAuth: OperatorAuth; retryAfterSeconds: number }): void;
  close(): Promise<void>;
}

/** Loads the control state and starts its refresh and the rollout controller. */
export async function startControlPlane(config: CollectorConfig, store: Store, log: Logger): Promise<ControlPlane> {
  const state = new ControlState(store, log.child({ component: 'control' }));
  await state.start(ms(config.configCenter.refreshInterval));
  const center = new ConfigCenter(state, store);
  const keys = config.releases.publicKeys.map((k) => {
    try {
      return { keyId: k.keyId, pem: k.pem ?? readFileSync(k.pemFile!, 'utf8') };
    } catch (err) {
      throw new PodpulseError('PODPULSE_ERR_CONFIG_READ', `releases.publicKeys[${k.keyId}].pemFile: cannot read ${k.pemFile}: ${(err as Error).message}`, { cause: err });
    }
  });
  const dir = config.releases.dir ?? (config.store.kind === 'sqlite' && config.store.path !== ':memory:' ? join(dirname(config.store.path), 'releases') : './data/releases');
  const releases = new ReleaseRegistry({ store, state, dir, keys, log: log.child({ component: 'releases' }) });
  if (keys.length === 0) log.info('no releases.publicKeys: release uploads are refused until keys are configured');
  const rollouts = new RolloutController({ store, state, log: log.child({ component: 'rollouts' }), tickMs: ms(config.rollouts.tickInterval), eventSource: config.events.source });
  rollouts.start();
  return {
    center,
    releases,
    rollouts,
    configRevisionFor: center.configRevisionFor,
    register(app, deps) {
      configRoutes(app, { center, operatorAuth: deps.operatorAuth });
      agentConfigRoute(app, { center, authenticator: deps.authenticator, retryAfterSeconds: deps.retryAfterSeconds, publicUrl: config.releases.publicUrl });
      releaseRoutes(app, { registry: releases, state, store, operatorAuth: deps.operatorAuth, authenticator: deps.authenticator, retryAfterSeconds: deps.retryAfterSeconds, maxBytes: bytes(config.releases.maxBytes) });
      rolloutRoutes(app, { store, state, controller: rollouts, operatorAuth: deps.operatorAuth });
    },
    async close() {
      state.stop();
      await rollouts.stop();
    },
  };
}
