import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError, type Violation } from '../../../src/errors.ts';
import type { Logger } from '../../../src/log/logger.ts';
import { parseJson, parseWith } from '../../../src/protocol/parse.ts';
import { ReleaseManifest } from '../../../src/protocol/release.ts';
import { verifyRelease, type ReleasePublicKey } from '../../../src/release/signing.ts';
import { RecordConflictError, type RecordStore } from '../../store/record-store.ts';
import { sha256Hex } from '../canonical-json.ts';
import { KINDS, type ControlState } from '../control-state.ts';

export interface ReleaseRegistryOptions {
  store: RecordStore;
  state: ControlState;
  /** Where bundles are kept, one `<version>.mjs` each (shared storage when several replicas serve them). */
  dir: string;
  keys: readonly ReleasePublicKey[];
  log: Logger;
}

/** Why an upload was refused (400) or clashes with a stored release of the same version (409). */
export class ReleaseRejectedError extends ValidationError {
  readonly status: 400 | 409;
  constructor(status: 400 | 409, what: string, violations: readonly Violation[]) {
    super('PODPULSE_ERR_RELEASE_REJECTED', what, violations);
    this.status = status;
  }
}

/**
 * Signed worker releases: bundles in a directory, manifests as records. Only a bundle whose sha256 and size match
 * its manifest and whose ed25519 signature verifies against the configured public keys is stored; daemons verify
 * again against their own keys, so the collector is not what they trust.
 */
export class ReleaseRegistry {
  readonly #o: ReleaseRegistryOptions;

  constructor(opts: ReleaseRegistryOptions) {
    this.#o = opts;
  }

  bundlePath(version: string): string {
    return join(this.#o.dir, `${version}.mjs`);
  }

  list(): ReleaseManifest[] {
    return [...this.#o.state.releases.values()].sort((a, b) => (a.builtAt < b.builtAt ? 1 : a.builtAt > b.builtAt ? -1 : 0));
  }

  get(version: string): ReleaseManifest | undefined {
    return this.#o.state.releases.get(version);
  }

  /**
   * Verifies and stores an upload. `manifestText` is the manifest JSON (or its base64); `pathVersion` the version
   * the URL names, which must agree. Uploading the same bundle again is a no-op (`created: false`).
   */
  async upload(manifestText: string | undefined, bundle: Buffer, pathVersion?: string): Promise<{ manifest: ReleaseManifest; created: boolean }> {
    const manifest = this.#verify(manifestText, bundle, pathVersion);
    await this.#o.state.refreshIfChanged();
    const existing = this.get(manifest.version);
    if (existing) {
      if (existing.sha256 === manifest.sha256) return { manifest: existing, created: false };
      throw new ReleaseRejectedError(409, `release ${manifest.version} already exists with another bundle`, [
        { path: 'manifest.version', message: `stored sha256 ${existing.sha256}, uploaded ${manifest.sha256}; releases are immutable, publish a new version` },
      ]);
    }
    await mkdir(this.#o.dir, { recursive: true });
    const final = this.bundlePath(manifest.version);
    const tmp = `${final}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bundle, { mode: 0o644 });
    await rename(tmp, final).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
    try {
      await this.#o.store.putRecord(KINDS.release, manifest.version, manifest, { expectedVersion: 0 });
    } catch (err) {
      if (err instanceof RecordConflictError) return this.upload(manifestText, bundle, pathVersion);
      throw err;
    }
    await this.#o.state.changed();
    this.#o.log.info({ version: manifest.version, sha256: manifest.sha256, size: manifest.size, keyId: manifest.keyId }, 'release stored');
    return { manifest, created: true };
  }

  /** The bundle file of a stored release and its size, or undefined. */
  async bundle(version: string): Promise<{ path: string; size: number; manifest: ReleaseManifest } | undefined> {
    const manifest = this.get(version);
    if (!manifest) return undefined;
    const path = this.bundlePath(version);
    try {
      return { path, size: (await stat(path)).size, manifest };
    } catch {
      this.#o.log.error({ version, path }, 'release manifest stored but its bundle file is missing');
      return undefined;
    }
  }

  #verify(manifestText: string | undefined, bundle: Buffer, pathVersion: string | undefined): ReleaseManifest {
    const refuse = (path: string, message: string) => new ReleaseRejectedError(400, 'release refused', [{ path, message }]);
    if (!manifestText) throw refuse('manifest', 'missing: send the signed manifest in the x-podpulse-release-manifest header (JSON or base64 of it)');
    const text = manifestText.trim().startsWith('{') ? manifestText : Buffer.from(manifestText, 'base64').toString('utf8');
    const json = parseJson(text, 'release manifest');
    if (!json.ok) throw new ReleaseRejectedError(400, 'release refused', json.error.violations.map((v) => ({ ...v, path: `manifest${v.path ? `.${v.path}` : ''}` })));
    const r = parseWith(ReleaseManifest, json.value, { what: 'release manifest', code: 'PODPULSE_ERR_RELEASE_REJECTED' });
    if (!r.ok) throw new ReleaseRejectedError(400, 'release refused', r.error.violations.map((v) => ({ ...v, path: `manifest${v.path ? `.${v.path}` : ''}` })));
    const m = r.value;
    if (pathVersion !== undefined && pathVersion !== m.version) throw refuse('manifest.version', `${m.version} is not the version in the URL (${pathVersion})`);
    if (bundle.length === 0) throw refuse('body', 'the bundle is empty');
    const sha = sha256Hex(bundle);
    if (sha !== m.sha256) throw refuse('manifest.sha256', `the uploaded bundle has sha256 ${sha}, the manifest says ${m.sha256} (tampered or truncated)`);
    if (bundle.length !== m.size) throw refuse('manifest.size', `the uploaded bundle is ${bundle.length} bytes, the manifest says ${m.size}`);
    if (!m.signature) throw refuse('manifest.signature', 'missing: the release is not signed (podpulse release sign)');
    const v = verifyRelease({ version: m.version, sha256: m.sha256 }, m.signature, this.#o.keys, m.keyId);
    if (!v.ok) throw refuse('manifest.signature', v.error);
    return { ...m, keyId: m.keyId ?? v.keyId };
  }
}
