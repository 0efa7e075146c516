import type { Logger } from '../../src/log/logger.ts';
import type { CollectorConfig } from '../config.ts';
import type { Authenticator } from './agent-identity.ts';
import { NoAuthenticator } from './no-authenticator.ts';
import { StaticTokenAuthenticator } from './static-token-authenticator.ts';
import { TokenReviewAuthenticator } from './token-review-authenticator.ts';

/** The authenticator for `auth.mode`. */
export async function createAuthenticator(cfg: CollectorConfig['auth'], log: Logger): Promise<Authenticator> {
  if (cfg.mode === 'static') return StaticTokenAuthenticator.fromFile(cfg.tokensFile!);
  if (cfg.mode === 'none') return new NoAuthenticator();
  return TokenReviewAuthenticator.create({ kubeconfig: cfg.kubeconfig, audience: cfg.audience, cacheSize: cfg.cacheSize, log: log.child({ component: 'tokenreview' }) });
}
