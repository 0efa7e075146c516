import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { SIDECAR_COMMAND, SIDECAR_UID } from '../../../collector/webhook/sidecar-spec.ts';
import { CollectorConfig } from '../../../collector/config.ts';
import { COLLECTOR_COMPILE_CACHE, COLLECTOR_NODE_FLAGS } from '../../../collector/node-flags.ts';
import { find, kustomize } from '../../unit/webhook/manifest-build.ts';
import { devManifests, E2E_IMAGE } from './e2e-manifests.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  steps: Instruction[];
}

/** The Dockerfile as stages of instructions (line continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const joined = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of joined) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparsable Dockerfile line: ${line}`);
    const [, op, args] = m as unknown as [string, string, string];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: f[1]!, ...(f[2] ? { name: f[2] } : {}), steps: [] });
    } else stages.at(-1)!.steps.push({ op, args });
  }
  return stages;
}

const dockerfile = parseDockerfile(readFileSync(`${root}Dockerfile`, 'utf8'));
const final = dockerfile.at(-1)!;
const last = (op: string) => final.steps.filter((s) => s.op === op).at(-1)?.args;
const json = (s: string | undefined) => JSON.parse(s ?? 'null') as string[];
const aptPackages = final.steps.filter((s) => s.op === 'RUN').flatMap((s) => /apt-get install\s+([^&]*)/.exec(s.args)?.[1]?.split(/\s+/).filter((w) => w && !w.startsWith('-')) ?? []);

// Where each tool the command templates run comes from in Debian bookworm.
const TOOL_PACKAGE: Record<string, string> = { curl: 'curl', dig: 'dnsutils', ip: 'iproute2', ss: 'iproute2', ps: 'procps', nc: 'netcat-openbsd' };

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('Dockerfile', () => {
  it('builds in a separate stage with npm ci and esbuild, and runs on node:24 slim', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile[0]!;
    expect(build.name).toBe('build');
    expect(build.steps.filter((s) => s.op === 'RUN').map((s) => s.args)).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'node build.mjs']));
    expect(final.from).toMatch(/^node:24[-.\w]*slim$/);
  });

  it('runs tini as PID 1 as uid 65532, with no npm on the command line or in the image', () => {
    const entry = json(last('ENTRYPOINT'));
    expect(entry[0]).toBe('/usr/bin/tini');
    expect(last('USER')).toBe(`${SIDECAR_UID}:${SIDECAR_UID}`);
    const cmd = [...entry, ...json(last('CMD'))];
    expect(cmd.join(' ')).not.toMatch(/\bnpm\b|\bnpx\b/);
    expect(final.steps.some((s) => s.op === 'RUN' && s.args.includes('/usr/local/bin/npm'))).toBe(true);
    expect(aptPackages).toContain('tini');
  });

  it('carries every tool the default command allowlist runs', () => {
    const daemon = parseYaml(find<{ data: Record<string, string> }>(kustomize('base'), 'ConfigMap', 'podpulse-agent').data['daemon.yaml']!) as { commands: { allowlist: { argv: string[] }[] } };
    for (const t of daemon.commands.allowlist) {
      const tool = t.argv[0]!;
      expect(TOOL_PACKAGE[tool], `package for ${tool}`).toBeDefined();
      expect(aptPackages).toContain(TOOL_PACKAGE[tool]);
    }
  });

  it('every file the image, the webhook and the manifests start exists after the build', () => {
    const copies = final.steps.filter((s) => s.op === 'COPY').map((s) => s.args.split(/\s+/).filter((w) => !w.startsWith('--')));
    // Files copied from the context exist; entrypoints resolve to what is copied.
    const fromContext = final.steps.filter((s) => s.op === 'COPY' && !s.args.includes('--from=')).map((s) => s.args.split(/\s+/).filter((w) => !w.startsWith('--'))[0]!);
    for (const f of fromContext) expect(existsSync(`${root}${f}`), f).toBe(true);
    const inImage = (p: string) => {
      if (p.startsWith('/opt/podpulse/dist/')) return existsSync(`${root}dist/${p.slice('/opt/podpulse/dist/'.length)}`);
      if (p === '/opt/podpulse/bin/podpulse-sidecar') return copies.some((c) => c.at(-1) === './bin/podpulse-sidecar' && c[0] === 'docker/podpulse-sidecar');
      return false;
    };
    expect(inImage(json(last('CMD')).at(-1)!)).toBe(true);
    expect(inImage(SIDECAR_COMMAND[3])).toBe(true);
    expect(SIDECAR_COMMAND[0]).toBe(json(last('ENTRYPOINT'))[0]);
    const dep = find<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>(kustomize('base'), 'Deployment', 'podpulse-collector');
    expect(inImage(dep.spec.template.spec.containers[0]!.args[COLLECTOR_NODE_FLAGS.length]!)).toBe(true);
    // The daemon forks the worker from beside itself.
    expect(existsSync(`${root}dist/worker.mjs`)).toBe(true);
  });

  it('the image, the manifests and npm start run the collector with the node flags of collector/node-flags.ts', () => {
    const flags = [...COLLECTOR_NODE_FLAGS];
    expect(flags.length).toBeGreaterThan(0);
    expect(json(last('CMD'))).toEqual([...flags, '/opt/podpulse/dist/collector.mjs']);
    const dep = find<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>(kustomize('base'), 'Deployment', 'podpulse-collector');
    expect(dep.spec.template.spec.containers[0]!.args.slice(0, flags.length + 1)).toEqual([...flags, '/opt/podpulse/dist/collector.mjs']);
    const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(start).toBe(`node ${flags.join(' ')} dist/collector.mjs --demo`);
  });

  it('makes the collector\'s code cache at build time, as the Deployment runs it, and the Deployment reads it', () => {
    const warm = final.steps.filter((s) => s.op === 'RUN').map((s) => s.args).find((a) => a.includes('NODE_COMPILE_CACHE='));
    expect(warm).toBe(`NODE_COMPILE_CACHE=${COLLECTOR_COMPILE_CACHE} node ${COLLECTOR_NODE_FLAGS.join(' ')} /opt/podpulse/dist/collector.mjs --check-config`);
    // Made after the bundle is in place, or it would cache nothing.
    const steps = final.steps.map((s) => s.args);
    expect(steps.findIndex((a) => a === warm)).toBeGreaterThan(steps.findIndex((a) => a.includes('/src/dist/')));
    const dep = find<{ spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }>(kustomize('base'), 'Deployment', 'podpulse-collector');
    expect(dep.spec.template.spec.containers[0]!.env).toContainEqual({ name: 'NODE_COMPILE_CACHE', value: COLLECTOR_COMPILE_CACHE });
  });

  it('the k3s end-to-end manifests run the locally built image everywhere, never pulled', () => {
    const objs = devManifests();
    const cfg = CollectorConfig.parse(parseYaml(find<{ data: Record<string, string> }>(objs, 'ConfigMap', 'podpulse-collector').data['collector.yaml']!));
    expect(cfg.webhook.injection).toMatchObject({ image: `docker.io/library/${E2E_IMAGE}`, imagePullPolicy: 'Never' });
    const c = find<{ spec: { template: { spec: { containers: { image: string; imagePullPolicy: string }[] } } } }>(objs, 'Deployment', 'podpulse-collector').spec.template.spec.containers[0]!;
    expect(c).toMatchObject({ image: `docker.io/library/${E2E_IMAGE}`, imagePullPolicy: 'Never' });
  });

  it('.dockerignore keeps node_modules and dist out of the build context', () => {
    const ignored = readFileSync(`${root}.dockerignore`, 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });
});

describe('the image layout, run from a copy without node_modules', () => {
  /** /opt/podpulse as the Dockerfile lays it out: dist/ and bin/podpulse-sidecar only. */
  function imageRoot(): string {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-image-'));
    tmp.push(dir);
    cpSync(`${root}dist`, join(dir, 'opt/podpulse/dist'), { recursive: true });
    mkdirSync(join(dir, 'opt/podpulse/bin'), { recursive: true });
    cpSync(`${root}docker/podpulse-sidecar`, join(dir, 'opt/podpulse/bin/podpulse-sidecar'));
    chmodSync(join(dir, 'opt/podpulse/bin/podpulse-sidecar'), 0o755);
    mkdirSync(join(dir, 'state'));
    return dir;
  }

  it('the sidecar entrypoint writes the inline daemon config to the state dir and the daemon accepts it', async () => {
    const dir = imageRoot();
    const daemonYaml = find<{ data: Record<string, string> }>(kustomize('base'), 'ConfigMap', 'podpulse-agent').data['daemon.yaml']!;
    const env = { PATH: process.env.PATH!, PODPULSE_DAEMON_CONFIG: daemonYaml, PODPULSE_STATE_DIR: join(dir, 'state'), PODPULSE_COLLECTOR_URL: 'http://podpulse-collector.podpulse.svc:8080' };
    const r = await run(join(dir, 'opt/podpulse/bin/podpulse-sidecar'), ['--check-config'], { env, timeout: 30_000 });
    expect(r.stdout).toMatch(/config OK/);
    expect(readFileSync(join(dir, 'state/daemon.yaml'), 'utf8')).toBe(`${daemonYaml}\n`);
    // A broken inline config fails the check (the daemon would exit instead of running on defaults).
    await expect(run(join(dir, 'opt/podpulse/bin/podpulse-sidecar'), ['--check-config'], { env: { ...env, PODPULSE_DAEMON_CONFIG: 'commands: { allowlist: 7 }' }, timeout: 30_000 })).rejects.toMatchObject({ code: 1 });
  });

  it('the collector starts from the code cache the build step makes', async () => {
    const dir = imageRoot();
    const bundle = join(dir, 'opt/podpulse/dist/collector.mjs');
    const cache = join(dir, 'compile-cache');
    const env = { PATH: process.env.PATH!, NODE_COMPILE_CACHE: cache, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
    await run(process.execPath, [...COLLECTOR_NODE_FLAGS, bundle, '--check-config'], { cwd: dir, env, timeout: 30_000 });
    const r = await run(process.execPath, [...COLLECTOR_NODE_FLAGS, bundle, '--check-config'], { cwd: dir, env, timeout: 30_000 });
    expect(r.stdout).toMatch(/config OK/);
    expect(r.stderr).toMatch(/V8 code cache for ESM \S*collector\.mjs was accepted/);
  });

  it('the collector bundle validates the manifests\' collector config on its own', async () => {
    const dir = imageRoot();
    const collectorYaml = find<{ data: Record<string, string> }>(kustomize('base'), 'ConfigMap', 'podpulse-collector').data['collector.yaml']!;
    writeFileSync(join(dir, 'collector.yaml'), collectorYaml);
    const r = await run(process.execPath, [join(dir, 'opt/podpulse/dist/collector.mjs'), '--config', join(dir, 'collector.yaml'), '--check-config'], { cwd: dir, timeout: 30_000 });
    expect(r.stdout).toMatch(/config OK/);
  });
});
