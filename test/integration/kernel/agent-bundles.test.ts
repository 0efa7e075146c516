import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRelease } from '../../../src/release/build-release.ts';

// What the agent bundles may and may not carry (docs/worker-footprint.md, docs/adr/0007): every dist bundle is one
// file that loads Node's builtins through require, and the daemon and worker bundles hold neither undici nor pino.
const ROOT = resolve(import.meta.dirname, '../../..');
const dist = (name: string) => readFileSync(join(ROOT, 'dist', `${name}.mjs`), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'podpulse-bundles-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const YAML_CONFIG = 'collector:\n  url: http://127.0.0.1:9   # a comment only YAML allows\nlog: { level: warn }\n';
const JSON_CONFIG = JSON.stringify({ collector: { url: 'http://127.0.0.1:9' }, log: { level: 'warn' } });

function checkConfig(bundle: string, text: string, ext: string) {
  const file = join(tmp, `worker-${Math.random().toString(36).slice(2)}.${ext}`);
  writeFileSync(file, text);
  const r = spawnSync(process.execPath, [bundle, '--config', file, '--check-config'], { encoding: 'utf8', cwd: tmp, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Specifiers of `import … from "x"` statements and `import("x")` calls in a bundle, the banner's node:module aside. */
function staticImports(text: string): string[] {
  const statements = text.matchAll(/(?:^|[;}\n])\s*import\s*(?:[\w$*{][^;"'`]*?from\s*)?["']([^"'\s]+)["']/g);
  const calls = text.matchAll(/\bimport\(\s*["']([^"'\s]+)["']\s*\)/g);
  return [...statements, ...calls].map((m) => m[1]!).filter((s) => s !== 'node:module');
}

describe('agent bundles', () => {
  it.each(['daemon', 'worker', 'collector', 'cli'])('dist/%s.mjs imports no file and loads builtins through require', (name) => {
    expect(staticImports(dist(name))).toEqual([]);
  });

  it.each(['daemon', 'worker'])('dist/%s.mjs carries neither undici nor pino', (name) => {
    const text = dist(name);
    expect(text).not.toContain('UND_ERR_');
    expect(text).not.toContain('pino.serializers');
  });

  it('the worker reads a JSON and a YAML config file', () => {
    const worker = join(ROOT, 'dist/worker.mjs');
    expect(checkConfig(worker, JSON_CONFIG, 'json')).toMatchObject({ code: 0, stderr: '' });
    expect(checkConfig(worker, YAML_CONFIG, 'yaml')).toMatchObject({ code: 0, stderr: '' });
  });

  it('a release build is one self-contained file that reads a YAML config from wherever it is installed', async () => {
    const built = await buildRelease({ version: '7.7.7', outDir: join(tmp, 'release'), root: ROOT, commit: 'test' });
    const text = readFileSync(built.bundlePath, 'utf8');
    expect(staticImports(text)).toEqual([]);
    const installed = join(tmp, 'versions-7.7.7-worker.mjs');
    writeFileSync(installed, text);
    expect(checkConfig(installed, YAML_CONFIG, 'yaml')).toMatchObject({ code: 0, stderr: '' });
    const version = spawnSync(process.execPath, [installed, '--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(version.stdout.trim()).toBe('7.7.7');
  });
});
