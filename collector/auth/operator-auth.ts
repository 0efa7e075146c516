import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { readConfigFileSync as readConfigFile } from '../../src/config/read-config-file-sync.ts';
import { str } from '../../src/protocol/common.ts';
import { parseWith } from '../../src/protocol/parse.ts';
import { HttpError } from '../api/http-error.ts';
import { bearerToken } from './agent-identity.ts';

/** Operator roles, each including the ones before it: viewer reads, operator also runs commands, admin also writes config and rollouts. */
export const OPERATOR_ROLES = ['viewer', 'operator', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** Who made an operator API request; `name` is what the audit log records. */
export interface Operator {
  name: string;
  role: OperatorRole;
}

/** The operator tokens file (YAML/JSON, typically mounted from a Secret). */
export const OperatorTokensFile = z.strictObject({
  tokens: z
    .array(
      z.strictObject({
        name: str(128, 1),
        /** Either the token itself or its sha256 (hex), so the file need not hold the secret. */
        token: z.optional(str(4096, 16)),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits').optional(),
        role: z.enum(OPERATOR_ROLES),
      }).refine((t) => (t.token === undefined) !== (t.sha256 === undefined), { error: 'give exactly one of token and sha256' }),
    )
    .max(10_000),
});
export type OperatorTokensFile = z.output<typeof OperatorTokensFile>;

declare module 'fastify' {
  interface FastifyRequest {
    operator?: Operator;
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const rank = (r: OperatorRole) => OPERATOR_ROLES.indexOf(r);

/**
 * Bearer-token authentication of the operator API. `require(role)` is an onRequest hook: 401 without a known token,
 * 403 when the token's role is below `role`; on success `req.operator` is set. Mode `none` (the local demo,
 * `--insecure-no-auth`) lets everyone in as `anonymous` admin.
 */
export class OperatorAuth {
  readonly mode: 'tokens' | 'none';
  readonly #byHash = new Map<string, Operator>();

  private constructor(mode: 'tokens' | 'none', file?: OperatorTokensFile) {
    this.mode = mode;
    for (const t of file?.tokens ?? []) this.#byHash.set(t.sha256 ?? sha256(t.token!), { name: t.name, role: t.role });
  }

  static none(): OperatorAuth {
    return new OperatorAuth('none');
  }

  static fromTokens(file: OperatorTokensFile): OperatorAuth {
    return new OperatorAuth('tokens', file);
  }

  /** Reads and validates the tokens file; throws a ValidationError naming each bad entry. */
  static fromFile(path: string): OperatorAuth {
    const r = parseWith(OperatorTokensFile, readConfigFile(path), { what: `operator tokens file ${path}`, code: 'PODPULSE_ERR_CONFIG_INVALID' });
    if (!r.ok) throw r.error;
    return OperatorAuth.fromTokens(r.value);
  }

  /** The operator a token belongs to, or undefined. */
  identify(token: string | undefined): Operator | undefined {
    if (this.mode === 'none') return { name: 'anonymous', role: 'admin' };
    return token === undefined ? undefined : this.#byHash.get(sha256(token));
  }

  require(role: OperatorRole): (req: FastifyRequest) => Promise<void> {
    return (req) => {
      const op = this.identify(bearerToken(req.headers.authorization));
      if (!op) {
        return Promise.reject(new HttpError(401, 'PODPULSE_ERR_UNAUTHENTICATED', 'unauthenticated', 'missing or unknown operator token', { headers: { 'www-authenticate': 'Bearer realm="podpulse-operator"' } }));
      }
      if (rank(op.role) < rank(role)) {
        return Promise.reject(new HttpError(403, 'PODPULSE_ERR_FORBIDDEN', 'forbidden', `role ${op.role} of ${op.name} may not do this; it needs ${role}`));
      }
      req.operator = op;
      return Promise.resolve();
    };
  }
}
