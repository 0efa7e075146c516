import type { Instance } from '../../src/protocol/heartbeat.ts';

/**
 * Who sent an agent request, as far as its token proves. Each field present binds the heartbeats the request may
 * carry; a field absent binds nothing (a static token bound to an app, not to one pod).
 */
export interface AgentIdentity {
  /** For logs: `system:serviceaccount:shop:web`, `static:shop-web`, `anonymous`. */
  subject: string;
  namespace?: string;
  app?: string;
  pod?: string;
  podUid?: string;
}

/** The outcome of authenticating a bearer token. */
export type AuthResult =
  | { ok: true; identity: AgentIdentity }
  /** `unauthenticated` → 401; `unavailable` (the apiserver did not answer) → 503, the token may well be good. */
  | { ok: false; reason: 'unauthenticated' | 'unavailable'; message: string };

/** Turns a bearer token into an identity. Implementations never throw. */
export interface Authenticator {
  readonly mode: 'tokenreview' | 'static' | 'none';
  authenticate(token: string | undefined): Promise<AuthResult>;
  close?(): Promise<void>;
}

/** Why `instance` is not covered by `identity` (the first mismatching field), or undefined when it is. */
export function instanceMismatch(identity: AgentIdentity, instance: Instance): string | undefined {
  // Checked once per heartbeat, so without building a table of the fields first.
  return (
    mismatch('namespace', identity.namespace, instance.namespace) ??
    mismatch('app', identity.app, instance.app) ??
    mismatch('pod', identity.pod, instance.pod) ??
    (identity.podUid === undefined ? undefined : mismatch('podUid', identity.podUid, instance.podUid.toLowerCase()))
  );
}

function mismatch(field: string, bound: string | undefined, got: string | undefined): string | undefined {
  return bound !== undefined && bound !== got ? `instance.${field} ${JSON.stringify(got)} is not the token's ${field} ${JSON.stringify(bound)}` : undefined;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+([^\s]{1,16384})\s*$/i.exec(header);
  return m?.[1];
}
