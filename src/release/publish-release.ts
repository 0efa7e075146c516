import type { ReleaseManifest } from '../protocol/release.ts';

/** The header that carries the signed manifest of an upload (base64 of its JSON). */
export const RELEASE_MANIFEST_HEADER = 'x-podpulse-release-manifest';

export interface PublishReleaseOptions {
  /** Collector base URL. */
  server: string;
  /** Operator token with role admin. */
  token?: string | undefined;
  bundle: Buffer;
  /** Signed manifest (signManifest). */
  manifest: ReleaseManifest;
  timeoutMs?: number;
}

/**
 * Uploads a signed release: `PUT /api/v1/releases/{version}` with the bundle as the body and the manifest in a
 * header. Returns the status and the parsed answer: 201 stored, 200 already stored (same bundle), 400 refused
 * (`error.violations` name the manifest field), 409 another bundle under that version. Throws only when the
 * collector cannot be reached.
 */
export async function publishRelease(o: PublishReleaseOptions): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${o.server.replace(/\/+$/, '')}/api/v1/releases/${encodeURIComponent(o.manifest.version)}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/octet-stream',
      [RELEASE_MANIFEST_HEADER]: Buffer.from(JSON.stringify(o.manifest)).toString('base64'),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
    },
    body: o.bundle,
    signal: AbortSignal.timeout(o.timeoutMs ?? 120_000),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { error: { code: 'PODPULSE_ERR_PROTOCOL', message: text.slice(0, 500), violations: [] } };
  }
  return { status: res.status, body };
}
