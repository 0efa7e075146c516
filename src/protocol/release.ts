import * as z from 'zod/mini';
import { apiVersion, identifier, sha256Hex, str, timestamp, version } from './common.ts';

/**
 * A worker release: one esbuild bundle plus this manifest. The signature is ed25519 over the canonical manifest
 * bytes without the signature fields (see the release issue's signing code).
 */
export const ReleaseManifest = z.strictObject({
  apiVersion,
  version,
  sha256: sha256Hex,
  size: z.number().check(z.int(), z.gte(1), z.lte(64 * 1024 * 1024)),
  entry: z._default(str(128, 1), 'worker.mjs'),
  builtAt: timestamp,
  build: z.strictObject({ node: str(32), commit: z.optional(str(64)), host: z.optional(str(128)) }),
  signature: z.optional(z.base64().check(z.maxLength(128))),
  keyId: z.optional(identifier),
});
export type ReleaseManifest = z.output<typeof ReleaseManifest>;
