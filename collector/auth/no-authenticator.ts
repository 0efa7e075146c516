import type { AuthResult, Authenticator } from './agent-identity.ts';

/** `--insecure-no-auth`: every request is anonymous and may post for any instance. For local demos only. */
export class NoAuthenticator implements Authenticator {
  readonly mode = 'none' as const;

  authenticate(): Promise<AuthResult> {
    return Promise.resolve({ ok: true, identity: { subject: 'anonymous' } });
  }
}
