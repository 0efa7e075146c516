import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { API_VERSION } from '../../src/protocol/common.ts';
import { parseWith } from '../../src/protocol/parse.ts';
import { ReleaseManifest } from '../../src/protocol/release.ts';
import { generateReleaseKeyPair, signRelease, verifyRelease } from '../../src/release/signing.ts';
import type { CommandSpec } from '../command-spec.ts';
import { str } from '../command-spec.ts';
import { CliError, CLI_EXIT, usageError } from '../exit-codes.ts';
import { printJson, table } from '../output.ts';

const MANIFEST = 'manifest.json';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function readFileOr(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw usageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** The manifest and bundle of a release directory, checked against each other: a tampered bundle is refused here. */
function loadRelease(dir: string): { manifest: ReleaseManifest; bundle: Buffer } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileOr(join(dir, MANIFEST), 'release manifest').toString('utf8'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw usageError(`${join(dir, MANIFEST)} is not JSON: ${(err as Error).message}`);
  }
  const r = parseWith(ReleaseManifest, raw, { what: `release manifest ${join(dir, MANIFEST)}` });
  if (!r.ok) throw usageError(r.error.message);
  const bundle = readFileOr(join(dir, r.value.entry), 'release bundle');
  const actual = sha256(bundle);
  if (actual !== r.value.sha256 || bundle.length !== r.value.size) {
    throw new CliError(CLI_EXIT.refused, 'PODPULSE_ERR_RELEASE_REJECTED', `${join(dir, r.value.entry)} does not match its manifest (sha256 ${actual}, ${bundle.length} bytes; manifest says ${r.value.sha256}, ${r.value.size} bytes)`);
  }
  return { manifest: r.value, bundle };
}

export const releaseBuild: CommandSpec = {
  usage: 'release build --version X.Y.Z [--entry worker/main.ts] [--out release/X.Y.Z] [--commit SHA]',
  summary: 'bundle the worker with esbuild into one file plus a manifest (version, sha256, build info)',
  options: { version: { type: 'string' }, entry: { type: 'string' }, out: { type: 'string' }, commit: { type: 'string' } },
  async run({ out, values: v, env }) {
    const version = str(v, 'version');
    if (!version) throw usageError('release build needs --version X.Y.Z');
    const dir = resolve(str(v, 'out') ?? join('release', version));
    const entry = resolve(str(v, 'entry') ?? 'worker/main.ts');
    // esbuild is a build tool, not part of the CLI bundle: loaded only here, from the project's node_modules.
    const name = 'esbuild';
    let esbuild: typeof import('esbuild');
    try {
      esbuild = (await import(name)) as typeof import('esbuild');
    } catch (err) {
      throw usageError(`release build needs esbuild installed where it runs (npm install esbuild): ${(err as Error).message}`);
    }
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'worker.mjs');
    try {
      await esbuild.build({
        entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node24', minify: true, keepNames: true, legalComments: 'none',
        external: ['pg-native', 'cpu-features', 'ssh2'], define: { PODPULSE_VERSION: JSON.stringify(version) }, logLevel: 'silent',
        banner: { js: "import { createRequire as __ppCreateRequire } from 'node:module'; const require = __ppCreateRequire(import.meta.url);" },
      });
    } catch (err) {
      throw new CliError(CLI_EXIT.refused, 'PODPULSE_ERR_RELEASE_REJECTED', `esbuild could not bundle ${entry}: ${(err as Error).message.split('\n').slice(0, 5).join(' ')}`);
    }
    const bundle = readFileSync(outfile);
    const commit = str(v, 'commit') ?? env.PODPULSE_BUILD_COMMIT;
    const manifest = {
      apiVersion: API_VERSION, version, sha256: sha256(bundle), size: bundle.length, entry: 'worker.mjs', builtAt: new Date().toISOString(),
      build: { node: process.version, host: hostname().slice(0, 128), ...(commit ? { commit } : {}) },
    };
    const r = parseWith(ReleaseManifest, manifest, { what: 'release manifest' });
    if (!r.ok) throw usageError(r.error.message);
    writeFileSync(join(dir, MANIFEST), `${JSON.stringify(r.value, null, 2)}\n`);
    if (out.json) printJson(out, { dir, manifest: r.value });
    else out.line(`built ${version}: ${outfile} (${bundle.length} bytes, sha256 ${r.value.sha256})`);
    return CLI_EXIT.ok;
  },
};

export const releaseSign: CommandSpec = {
  usage: 'release sign <dir> --key <ed25519-private.pem> --key-id ID',
  summary: 'sign a built release (ed25519 over version and sha256); writes signature and keyId into the manifest',
  options: { key: { type: 'string' }, 'key-id': { type: 'string' } },
  run({ out, positionals, values: v }) {
    if (positionals.length !== 1) throw usageError('expected one release directory');
    const dir = positionals[0]!;
    const keyFile = str(v, 'key');
    const keyId = str(v, 'key-id');
    if (!keyFile || !keyId) throw usageError('release sign needs --key <private.pem> and --key-id <id>');
    const { manifest } = loadRelease(dir);
    let signature: string;
    try {
      signature = signRelease({ version: manifest.version, sha256: manifest.sha256 }, readFileOr(keyFile, 'private key').toString('utf8'));
    } catch (err) {
      throw usageError(`cannot sign with ${keyFile}: ${(err as Error).message}`);
    }
    const signed = { ...manifest, signature, keyId };
    const check = parseWith(ReleaseManifest, signed, { what: 'signed manifest' });
    if (!check.ok) throw usageError(check.error.message);
    writeFileSync(join(dir, MANIFEST), `${JSON.stringify(check.value, null, 2)}\n`);
    if (out.json) printJson(out, check.value);
    else out.line(`signed ${manifest.version} with key ${keyId}`);
    return CLI_EXIT.ok;
  },
};

export const releaseVerify: CommandSpec = {
  usage: 'release verify <dir> --public-key <pem> [--key-id ID]',
  summary: 'check a release directory: bundle matches manifest, signature verifies',
  options: { 'public-key': { type: 'string' }, 'key-id': { type: 'string' } },
  run({ out, positionals, values: v }) {
    if (positionals.length !== 1) throw usageError('expected one release directory');
    const pub = str(v, 'public-key');
    if (!pub) throw usageError('release verify needs --public-key <pem>');
    const { manifest } = loadRelease(positionals[0]!);
    if (!manifest.signature) throw new CliError(CLI_EXIT.refused, 'PODPULSE_ERR_RELEASE_REJECTED', `release ${manifest.version} is not signed`);
    const r = verifyRelease(manifest, manifest.signature, [{ keyId: str(v, 'key-id') ?? manifest.keyId ?? 'given', pem: readFileOr(pub, 'public key').toString('utf8') }]);
    if (!r.ok) throw new CliError(CLI_EXIT.refused, 'PODPULSE_ERR_RELEASE_REJECTED', r.error);
    if (out.json) printJson(out, { version: manifest.version, verified: true, keyId: r.keyId });
    else out.line(`release ${manifest.version}: bundle and signature verify (key ${r.keyId})`);
    return CLI_EXIT.ok;
  },
};

export const releaseKeygen: CommandSpec = {
  usage: 'release keygen --out <dir>',
  summary: 'a new ed25519 key pair for signing releases (release-key.pem private, release-key.pub.pem public)',
  options: { out: { type: 'string' } },
  run({ out, values: v }) {
    const dir = str(v, 'out');
    if (!dir) throw usageError('release keygen needs --out <dir>');
    mkdirSync(dir, { recursive: true });
    const k = generateReleaseKeyPair();
    writeFileSync(join(dir, 'release-key.pem'), k.privateKeyPem, { mode: 0o600, flag: 'wx' });
    writeFileSync(join(dir, 'release-key.pub.pem'), k.publicKeyPem, { flag: 'wx' });
    if (out.json) printJson(out, { privateKey: join(dir, 'release-key.pem'), publicKey: join(dir, 'release-key.pub.pem') });
    else out.line(`wrote ${join(dir, 'release-key.pem')} (keep it secret) and ${join(dir, 'release-key.pub.pem')}`);
    return CLI_EXIT.ok;
  },
};

export const releasePublish: CommandSpec = {
  usage: 'release publish <dir>',
  summary: 'upload a signed release; the collector refuses one whose signature does not verify',
  async run({ api, out, positionals }) {
    if (positionals.length !== 1) throw usageError('expected one release directory');
    const { manifest, bundle } = loadRelease(positionals[0]!);
    if (!manifest.signature) throw usageError(`release ${manifest.version} is not signed: run podpulse release sign first`);
    const r = await api().request<{ created?: boolean; manifest?: ReleaseManifest }>('POST', '/api/v1/releases', undefined, {
      bytes: bundle,
      headers: { 'content-type': 'application/octet-stream', 'x-podpulse-release-manifest': Buffer.from(JSON.stringify(manifest)).toString('base64') },
    });
    if (out.json) printJson(out, r);
    else out.line(`${r.created === false ? 'already published' : 'published'} ${manifest.version} (sha256 ${manifest.sha256})`);
    return CLI_EXIT.ok;
  },
};

export const releaseList: CommandSpec = {
  usage: 'release list',
  summary: 'releases the collector stores, and the global pin',
  async run({ api, out }) {
    const r = await api().get<{ items: Record<string, unknown>[]; pin: Record<string, unknown> | null }>('/api/v1/releases');
    if (out.json) printJson(out, r);
    else {
      table(out, ['version', 'size', 'built', 'key', 'sha256'], r.items.map((m) => [m.version, m.size, m.builtAt, m.keyId, String(m.sha256).slice(0, 16)]));
      if (r.pin) out.note(`pinned: every instance stays on ${String(r.pin.version)} (by ${String(r.pin.by)})`);
    }
    return CLI_EXIT.ok;
  },
};
