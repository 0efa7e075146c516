import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Json } from './collector-double.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const WORKERS = join(ROOT, 'test/fixtures/workers');
/** The daemon under test: the built bundle, as a user runs it (override to run another build). */
export const DAEMON_ENTRY = process.env.PODPULSE_DAEMON_ENTRY ?? join(ROOT, 'dist/daemon.mjs');

/** A running daemon process with its parsed JSON log lines. */
export interface DaemonRun {
  proc: ChildProcess;
  dir: string;
  stateDir: string;
  configFile: string;
  logs: Json[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitLog: (match: (l: Json) => boolean, timeoutMs?: number, what?: string) => Promise<Json>;
  /** SIGKILLs the daemon if still running (test cleanup). */
  kill: () => Promise<void>;
}

/** A temp directory with a state dir inside, for one daemon (or several lives of one daemon). */
export function daemonDir(): { dir: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-daemon-'));
  return { dir, stateDir: join(dir, 'state') };
}

/** Writes `config` as the daemon's local config file and starts dist/daemon.mjs with it (and `nodeFlags`). */
export function startDaemon(config: Record<string, unknown>, where = daemonDir(), env: NodeJS.ProcessEnv = {}, nodeFlags: readonly string[] = []): DaemonRun {
  const configFile = join(where.dir, 'daemon.json');
  writeFileSync(configFile, JSON.stringify({ stateDir: where.stateDir, ...config }, null, 2));
  const proc = spawn(process.execPath, [...nodeFlags, DAEMON_ENTRY, '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PODPULSE_LOG_LEVEL: 'debug', ...env },
  });
  const logs: Json[] = [];
  let partial = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Json);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (c: string) => (stderr += c));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const waitLog = async (match: (l: Json) => boolean, timeoutMs = 30_000, what = 'log line'): Promise<Json> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = logs.find(match);
      if (hit) return hit;
      if (Date.now() > until || proc.exitCode !== null) throw new Error(`no ${what} within ${timeoutMs}ms (exit ${proc.exitCode}); stderr: ${stderr.slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-15))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exit;
    }
  };
  return { proc, ...where, configFile, logs, exit, waitLog, kill };
}

/** True while a process with this pid exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** A daemon config for tests: fast restarts, short graces, the good fake worker baked in. */
export function testConfig(collectorUrl: string, over: Json = {}): Json {
  const { worker, config, ...rest } = over;
  return {
    collector: { url: collectorUrl, timeout: '5s' },
    worker: {
      bakedPath: join(WORKERS, 'good.mjs'),
      bakedVersion: '0.0.0-fake',
      readyDeadline: '5s',
      stopGrace: '5s',
      updateGrace: '10s',
      downloadTimeout: '3s',
      restart: { initial: '200ms', max: '2s', resetAfter: '5m', crashloopAfter: 4 },
      ...worker,
    },
    config: { pollInterval: '1s', default: { apiVersion: 'podpulse.io/v1', revision: 'default', heartbeat: { interval: '1s' } }, ...config },
    health: { statusInterval: '500ms' },
    ...rest,
  };
}
