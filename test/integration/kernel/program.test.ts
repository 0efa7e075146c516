import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const main = new URL('../../fixtures/program/main.ts', import.meta.url).pathname;
const fixture = (name: string) => new URL(`../../fixtures/config/${name}`, import.meta.url).pathname;

/** Runs the fixture program as a real Node 24 process (type stripping runs the .ts directly). */
function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('program start-up (runProgram) as a real process', () => {
  it('--check-config on a valid file prints config OK and exits 0', () => {
    const r = run(['--config', fixture('demo-valid.yaml'), '--check-config']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('config OK');
  });

  it('--check-config on an invalid file exits 1 and names each key path, bad value and expectation', () => {
    const r = run(['--config', fixture('demo-invalid.yaml'), '--check-config']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PODPULSE_ERR_CONFIG_INVALID');
    expect(r.stderr).toContain('server.port: must be at most 65535, got 70000');
    expect(r.stderr).toContain('targets[db].interval: must be a duration such as "500ms", "10s" or "1m30s", got "soon"');
  });

  it('an invalid config stops start-up before anything runs', () => {
    const r = run(['--config', fixture('demo-invalid.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('an unknown flag is a usage error with exit 2', () => {
    const r = run(['--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PODPULSE_ERR_USAGE');
  });

  it('env and flags override the file, and the program logs JSON to stdout', () => {
    const r = run(['--config', fixture('demo-valid.yaml'), '--port', '4321'], { PODPULSE_SERVER_TLS: 'yes' });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const log = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(log).toMatchObject({ level: 'info', msg: 'started', name: 'podpulse-demo', port: 4321 });
    expect(JSON.parse(lines[1]!)).toMatchObject({ server: { port: 4321, tls: true } });
  });

  it('runs on Node 24 in child processes too', () => {
    const r = spawnSync(process.execPath, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toMatch(/^24\./);
  });
});
