import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const WORKER_ENTRY = resolve(import.meta.dirname, '../../dist/worker.mjs');

/** A built worker running as a child process, as a user (or the daemon) starts it. */
export interface WorkerProcess {
  child: ChildProcess;
  dir: string;
  configFile: string;
  /** Log lines written so far (parsed JSON; non-JSON lines as { raw }). */
  logs(): Record<string, unknown>[];
  stderr(): string;
  /** Messages received over IPC (when forked). */
  messages: Array<Record<string, unknown>>;
  /** SIGTERM, wait for exit (SIGKILL after `graceMs` + 5 s); returns the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
  cleanup(): Promise<void>;
}

/**
 * Writes `config` to worker.yaml (JSON is YAML) in a temp dir and starts `node dist/worker.mjs --config …`.
 * With `ipc: true` it is forked with an IPC channel, like the daemon does.
 */
export function startWorker(config: Record<string, unknown> | ((dir: string) => Record<string, unknown>), opts: { ipc?: boolean; env?: NodeJS.ProcessEnv; dir?: string } = {}): WorkerProcess {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'podpulse-worker-'));
  const configFile = join(dir, 'worker.yaml');
  writeFileSync(configFile, JSON.stringify(typeof config === 'function' ? config(dir) : config, null, 2));
  const env = { ...process.env, PODPULSE_LOG_LEVEL: 'info', ...opts.env };
  const args = ['--config', configFile];
  const child = opts.ipc
    ? fork(WORKER_ENTRY, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    : spawn(process.execPath, [WORKER_ENTRY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const messages: Array<Record<string, unknown>> = [];
  child.on('message', (m) => messages.push(m as Record<string, unknown>));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const w: WorkerProcess = {
    child,
    dir,
    configFile,
    messages,
    exited,
    logs: () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return { raw: l };
          }
        }),
    stderr: () => err,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs + 5000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
    async cleanup() {
      await w.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return w;
}
