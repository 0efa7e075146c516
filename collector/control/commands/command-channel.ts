import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../../src/log/logger.ts';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';
import { ms } from '../../../src/units.ts';
import type { AgentIdentity, Authenticator } from '../../auth/agent-identity.ts';
import type { OperatorAuth } from '../../auth/operator-auth.ts';
import type { CollectorConfig } from '../../config.ts';
import type { Store } from '../../store/store.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { agentCommandsRoutes } from './agent-commands-routes.ts';
import { CommandQueue } from './command-queue.ts';
import { loadCommandTemplates } from './command-templates.ts';
import { commandsRoutes, type CommandsRouteOptions } from './commands-routes.ts';

export interface CommandChannel {
  queue: CommandQueue;
  /** Registers the operator and agent routes of the channel. */
  register(app: FastifyInstance, ctx: { authenticator: Authenticator; operatorAuth: OperatorAuth; retryAfterSeconds?: number; instanceTemplates?: CommandsRouteOptions['instanceTemplates'] }): void;
  /** For the heartbeat answer: whether a command waits for the pod(s) of these heartbeats. */
  commandsPending(identity: AgentIdentity, heartbeats: readonly Heartbeat[]): boolean;
  close(): Promise<void>;
}

/** Builds the command channel from the collector config; throws on a bad templates file (the collector must not start). */
export function createCommandChannel(o: { config: CollectorConfig['commands']; store: Store; audit: AuditLog; log: Logger }): CommandChannel {
  const templates = loadCommandTemplates(o.config);
  const ttlMs = ms(o.config.ttl);
  const queue = new CommandQueue({ store: o.store, audit: o.audit, log: o.log, ttlMs, resultTimeoutMs: ms(o.config.resultTimeout), refreshMs: ms(o.config.refreshInterval) });
  queue.start();
  return {
    queue,
    register(app, ctx) {
      commandsRoutes(app, { queue, store: o.store, operatorAuth: ctx.operatorAuth, templates, maxFanOut: o.config.maxFanOut, ttlMs, ...(ctx.instanceTemplates ? { instanceTemplates: ctx.instanceTemplates } : {}) });
      agentCommandsRoutes(app, { queue, authenticator: ctx.authenticator, maxWaitSeconds: o.config.maxWait, isClosing: () => queue.closed, ...(ctx.retryAfterSeconds ? { retryAfterSeconds: ctx.retryAfterSeconds } : {}) });
    },
    commandsPending(identity, heartbeats) {
      const uids = heartbeats.map((h) => h.instance.podUid);
      if (identity.podUid) uids.push(identity.podUid);
      return queue.pending(uids);
    },
    close: () => queue.close(),
  };
}
