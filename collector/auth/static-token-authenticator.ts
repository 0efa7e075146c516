import { createHash } from 'node:crypto';
import { z } from 'zod';
import { readConfigFileSync as readConfigFile } from '../../src/config/read-config-file-sync.ts';
import { dnsLabel, labelValue, str } from '../../src/protocol/common.ts';
import { parseWith } from '../../src/protocol/parse.ts';
import type { AgentIdentity, AuthResult, Authenticator } from './agent-identity.ts';

/** The static tokens file: each token bound to a namespace and app, optionally to one pod uid. */
export const StaticTokensFile = z.strictObject({
  tokens: z
    .array(
      z.strictObject({
        /** A name for logs; the token itself is never logged. */
        name: str(128, 1),
        token: str(4096, 16),
        namespace: dnsLabel,
        app: labelValue.check(z.minLength(1)),
        podUid: z.uuid().optional(),
      }),
    )
    .max(100_000),
});
export type StaticTokensFile = z.output<typeof StaticTokensFile>;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Outside a cluster: tokens from a file. Lookup is by the token's sha256, so no comparison leaks how much of a
 * guessed token matched.
 */
export class StaticTokenAuthenticator implements Authenticator {
  readonly mode = 'static' as const;
  readonly #byHash = new Map<string, AgentIdentity>();

  constructor(file: StaticTokensFile) {
    for (const t of file.tokens) {
      this.#byHash.set(sha256(t.token), { subject: `static:${t.name}`, namespace: t.namespace, app: t.app, ...(t.podUid ? { podUid: t.podUid.toLowerCase() } : {}) });
    }
  }

  /** Reads and validates a YAML or JSON tokens file; throws a ValidationError naming each bad entry. */
  static fromFile(path: string): StaticTokenAuthenticator {
    const r = parseWith(StaticTokensFile, readConfigFile(path), { what: `static tokens file ${path}`, code: 'PODPULSE_ERR_CONFIG_INVALID' });
    if (!r.ok) throw r.error;
    return new StaticTokenAuthenticator(r.value);
  }

  authenticate(token: string | undefined): Promise<AuthResult> {
    if (token === undefined) return Promise.resolve({ ok: false, reason: 'unauthenticated', message: 'missing bearer token' });
    const identity = this.#byHash.get(sha256(token));
    return Promise.resolve(identity ? { ok: true, identity } : { ok: false, reason: 'unauthenticated', message: 'unknown token' });
  }
}
