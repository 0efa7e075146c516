import { z } from 'zod';
import { apiVersion, identifier, sha256Hex, str, timestamp, version } from './common.ts';

/**
 * A worker release: one esbuild bundle plus this manifest. The signature is ed25519 over the canonical manifest
 * bytes without the signature fields (see the release issue's signing code).
 */
export const ReleaseManifest = z.strictObject({
  apiVersion,
  version,
  sha256: sha256Hex,
  size: z.number().int().min(1).max(64 * 1024 * 1024),
  entry: str(128, 1).default('worker.mjs'),
  builtAt: timestamp,
  build: z.strictObject({ node: str(32), commit: str(64).optional(), host: str(128).optional() }),
  signature: z.base64().max(128).optional(),
  keyId: identifier.optional(),
});
export type ReleaseManifest = z.output<typeof ReleaseManifest>;
