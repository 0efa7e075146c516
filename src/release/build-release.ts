import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleOptions } from '../build/bundle-options.ts';
import { API_VERSION } from '../protocol/common.ts';
import { parseWith } from '../protocol/parse.ts';
import { ReleaseManifest } from '../protocol/release.ts';
import { signRelease } from './signing.ts';

export interface BuildReleaseOptions {
  /** Semantic version the bundle reports (`PODPULSE_VERSION`) and is published under. */
  version: string;
  /** Output directory: `worker-<version>.mjs` and `worker-<version>.manifest.json` are written there. */
  outDir: string;
  /** Repository root holding worker/main.ts; the current directory by default. */
  root?: string;
  /** Entry to bundle, relative to root; `worker/main.ts` by default. */
  entry?: string;
  /** Git commit recorded in the manifest; read from `git rev-parse HEAD` in root when not given (absent if that fails). */
  commit?: string;
}

export interface BuiltRelease {
  bundlePath: string;
  manifestPath: string;
  manifest: ReleaseManifest;
}

/**
 * Bundles the worker with esbuild into one self-contained ESM file (the daemon installs and forks exactly this file)
 * and writes its manifest: version, sha256, size, build info. Unsigned: `signManifest` adds the signature. esbuild
 * is loaded on demand so that importing this module costs nothing where releases are only verified.
 */
export async function buildRelease(opts: BuildReleaseOptions): Promise<BuiltRelease> {
  const root = resolve(opts.root ?? process.cwd());
  const versionCheck = parseWith(ReleaseManifest.shape.version, opts.version, { what: 'release version' });
  if (!versionCheck.ok) throw versionCheck.error;
  const { build } = await import('esbuild');
  await mkdir(opts.outDir, { recursive: true });
  const bundlePath = join(opts.outDir, `worker-${opts.version}.mjs`);
  await build({
    ...bundleOptions(opts.version),
    entryPoints: [join(root, opts.entry ?? 'worker/main.ts')],
    outfile: bundlePath,
  });
  const bytes = await readFile(bundlePath);
  const commit = opts.commit ?? gitCommit(root);
  const manifest: ReleaseManifest = {
    apiVersion: API_VERSION,
    version: opts.version,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    entry: 'worker.mjs',
    builtAt: new Date().toISOString(),
    build: { node: process.version, host: hostname().slice(0, 128), ...(commit ? { commit } : {}) },
  };
  const manifestPath = join(opts.outDir, `worker-${opts.version}.manifest.json`);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { bundlePath, manifestPath, manifest };
}

/** A manifest with its ed25519 signature (over version and sha256) and key id added. */
export function signManifest(manifest: ReleaseManifest, privateKeyPem: string, keyId: string): ReleaseManifest {
  return { ...manifest, signature: signRelease({ version: manifest.version, sha256: manifest.sha256 }, privateKeyPem), keyId };
}

/** A manifest for an existing bundle (a prebuilt or test worker), same shape as buildRelease writes. */
export function manifestFor(version: string, bundle: Buffer, build: ReleaseManifest['build'] = { node: process.version }): ReleaseManifest {
  return {
    apiVersion: API_VERSION, version, sha256: createHash('sha256').update(bundle).digest('hex'), size: bundle.length, entry: 'worker.mjs',
    builtAt: new Date().toISOString(), build,
  };
}

function gitCommit(root: string): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
    return /^[0-9a-f]{40}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}
