import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Outcome } from '../../../checks/check.ts';
import { checkContext } from '../../helpers/check-context.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
/** The conventional unprivileged uid/gid ("nobody"). */
export const NOBODY = 65534;

/**
 * Runs one check as an unprivileged user, for outcomes that root cannot see (root bypasses file permissions):
 * as root, in a child process with uid/gid nobody; otherwise in this process. Paths the check touches must be
 * reachable by that user (chmod 755 the temp directory).
 */
export async function runUnprivileged(file: string, exportName: string, specInput: unknown): Promise<Outcome> {
  const moduleUrl = pathToFileURL(path.join(ROOT, 'checks', file)).href;
  if (process.getuid?.() !== 0) {
    const mod = (await import(moduleUrl)) as Record<string, { spec: { parse(v: unknown): unknown }; run(s: unknown, c: unknown): Promise<Outcome> }>;
    const def = mod[exportName]!;
    return def.run(def.spec.parse(specInput), checkContext());
  }
  const helperUrl = pathToFileURL(path.join(ROOT, 'test/helpers/check-context.ts')).href;
  const script = `
    const def = (await import(${JSON.stringify(moduleUrl)}))[${JSON.stringify(exportName)}];
    const { checkContext } = await import(${JSON.stringify(helperUrl)});
    const out = await def.run(def.spec.parse(JSON.parse(process.argv[1])), checkContext());
    process.stdout.write(JSON.stringify(out));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(specInput)], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`unprivileged check run exited ${code}: ${err}`);
  return JSON.parse(out) as Outcome;
}
