import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.ts';
import { PodpulseError, ValidationError } from '../../../src/errors.ts';
import { DEMO_ENV, DemoConfig } from '../../fixtures/program/schema.ts';

const fixture = (name: string) => new URL(`../../fixtures/config/${name}`, import.meta.url).pathname;
const load = (file?: string, env: NodeJS.ProcessEnv = {}, overrides = {}) => loadConfig({ schema: DemoConfig, what: 'demo config', file, env, envMap: DEMO_ENV, overrides });

async function violations(fn: () => Promise<unknown>): Promise<string[]> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.violations.map((v) => `${v.path}: ${v.message}`);
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('loadConfig', () => {
  it('fills every default when there is no file and no env', async () => {
    expect(await load()).toEqual({ log: { level: 'info' }, server: { host: '127.0.0.1', port: 8080, tls: false }, collector: { url: 'http://127.0.0.1:8080', timeout: '5s' }, targets: [] });
  });

  it('merges defaults < file < env < overrides', async () => {
    const cfg = await load(fixture('demo-valid.yaml'), { PODPULSE_SERVER_TLS: 'true', PODPULSE_LOG_LEVEL: 'debug' });
    expect(cfg.server).toEqual({ host: '127.0.0.1', port: 9090, tls: true });
    expect(cfg.log.level).toBe('debug');
    expect(cfg.targets).toEqual([{ id: 'db', interval: '10s' }]);
    expect((await load(fixture('demo-valid.yaml'), { PODPULSE_SERVER_PORT: '7000' })).server.port).toBe(7000);
    expect((await load(fixture('demo-valid.yaml'), { PODPULSE_SERVER_PORT: '7000' }, { 'server.port': 6000 })).server.port).toBe(6000);
  });

  it('reads JSON files too, and an empty file as an empty config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pp-cfg-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ server: { port: 1234 } }));
    expect((await load(join(dir, 'c.json'))).server.port).toBe(1234);
    writeFileSync(join(dir, 'empty.yaml'), '\n  \n');
    expect((await load(join(dir, 'empty.yaml'))).server.port).toBe(8080);
    writeFileSync(join(dir, 'comments.yaml'), '# nothing set yet\n');
    expect((await load(join(dir, 'comments.yaml'))).server.port).toBe(8080);
  });

  it('names every bad key path, the bad value and the expectation, with list items by id', async () => {
    expect(await violations(() => load(fixture('demo-invalid.yaml')))).toEqual([
      'server.port: must be at most 65535, got 70000',
      'server.extra: unknown key',
      'targets[db].interval: must be a duration such as "500ms", "10s" or "1m30s", got "soon"',
    ]);
  });

  it('names the environment variable a bad value came from', async () => {
    expect(await violations(() => load(undefined, { PODPULSE_SERVER_TLS: 'maybe', PODPULSE_SERVER_PORT: 'eighty' }))).toEqual([
      'server.port (from PODPULSE_SERVER_PORT): expected number, got "eighty"',
      'server.tls (from PODPULSE_SERVER_TLS): expected boolean, got "maybe"',
    ]);
  });

  it('reports a missing file and a file that does not parse with PODPULSE_ERR_CONFIG_READ', async () => {
    for (const file of ['/nonexistent/podpulse.yaml', fixture('demo-broken.yaml')]) {
      const err = await load(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PodpulseError);
      expect((err as PodpulseError).code).toBe('PODPULSE_ERR_CONFIG_READ');
      expect((err as Error).message).toContain(file);
    }
  });

  it('refuses a file whose top level is not a mapping, in YAML or JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pp-cfg-'));
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    await expect(load(join(dir, 'list.yaml'))).rejects.toThrow(/must hold a mapping/);
    writeFileSync(join(dir, 'list.json'), '["a", "b"]');
    await expect(load(join(dir, 'list.json'))).rejects.toThrow(/must hold a mapping/);
  });
});
