import { randomBytes } from '../src/agent/random-bytes.ts';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from './atomic-write.ts';
import type { InstalledBuild } from './update-state.ts';

/** The installed worker bundles: `<stateDir>/versions/<version>/worker.mjs`. */
export function versionsDir(stateDir: string): string {
  return join(stateDir, 'versions');
}

export function workerEntry(stateDir: string, version: string): string {
  return join(versionsDir(stateDir), version, 'worker.mjs');
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  // node:crypto is loaded here, when a release is checked, not at start (about 1 MB of private memory per pod).
  const h = process.getBuiltinModule('node:crypto').createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** True when `versions/<version>/worker.mjs` exists and hashes to the build's sha256. */
export async function isInstalled(stateDir: string, build: InstalledBuild): Promise<boolean> {
  const entry = workerEntry(stateDir, build.version);
  try {
    await stat(entry);
    return (await sha256File(entry)) === build.sha256;
  } catch {
    return false;
  }
}

/**
 * Installs a verified bundle: copy into a temp directory beside `versions/<version>`, fsync, and rename it into
 * place, so `versions/<version>/worker.mjs` is either absent or complete. An older copy of the same version (a
 * different build) is moved aside first.
 */
export async function installBundle(stateDir: string, version: string, bundle: string): Promise<string> {
  const dir = versionsDir(stateDir);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.install-${version}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  const fh = await open(join(tmp, 'worker.mjs'), 'w', 0o644);
  try {
    for await (const chunk of createReadStream(bundle)) await fh.write(chunk as Buffer);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(tmp);
  const target = join(dir, version);
  await rm(target, { recursive: true, force: true });
  await rename(tmp, target);
  await fsyncDir(dir);
  return workerEntry(stateDir, version);
}
