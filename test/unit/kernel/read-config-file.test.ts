import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'podpulse-read-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const MODULE = pathToFileURL(join(import.meta.dirname, '../../../src/config/read-config-file.ts')).href;

/**
 * Reads `text` as a config file in a fresh Node process whose module hooks record every specifier resolved, and
 * says whether the YAML package was among them.
 */
function readInFreshProcess(text: string): { doc: unknown; yamlLoaded: boolean } {
  const file = join(tmp, `c-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text);
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
    const { readConfigFile } = await import(${JSON.stringify(MODULE)});
    const doc = await readConfigFile(process.env.CONFIG_FILE);
    process.stdout.write(JSON.stringify({ doc, yamlLoaded: seen.includes('yaml') }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, CONFIG_FILE: file }, timeout: 30_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { doc: unknown; yamlLoaded: boolean };
}

describe('readConfigFile', () => {
  it('parses a JSON file without loading the YAML package', () => {
    expect(readInFreshProcess('{"collector": {"url": "http://c:8080"}}')).toEqual({ doc: { collector: { url: 'http://c:8080' } }, yamlLoaded: false });
    expect(readInFreshProcess('  \n')).toEqual({ doc: {}, yamlLoaded: false });
  });

  it('loads the YAML package for a file that is not JSON', () => {
    expect(readInFreshProcess('collector:\n  url: http://c:8080 # YAML\n')).toEqual({ doc: { collector: { url: 'http://c:8080' } }, yamlLoaded: true });
  });
});
