import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COLLECTOR_NODE_FLAGS } from '../../collector/node-flags.ts';

export const COLLECTOR_BIN = fileURLToPath(new URL('../../dist/collector.mjs', import.meta.url));

export interface CollectorProcess {
  proc: ChildProcess;
  url: string;
  /** Everything written to stdout and stderr so far (for failure messages). */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/** Spawns the built collector (dist/collector.mjs) as deployed (its node flags) and resolves once it logged its listening URL. */
export function spawnCollector(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CollectorProcess> {
  const proc = spawn(process.execPath, [...COLLECTOR_NODE_FLAGS, COLLECTOR_BIN, ...args], {
    env: { ...process.env, PODPULSE_LISTEN_HOST: '127.0.0.1', PODPULSE_LISTEN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"collector listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, output: () => out, exited });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code} before listening:\n${out}`));
    });
  });
}
