import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface BenchPod {
  podUid: string;
  token: string;
  app: string;
}

/** Starts bench/config-serve.ts and resolves once it prints its URL and pods. */
export function startConfigCollector(agents: number): Promise<{ proc: ChildProcess; url: string; pods: BenchPod[] }> {
  const proc = spawn(process.execPath, [`${root}bench/config-serve.ts`, '--agents', String(agents)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      // Log lines may come first; the answer is the line with the pods.
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line && out.includes('\n', out.indexOf(line))) {
        const j = JSON.parse(line) as { url: string; pods: BenchPod[] };
        resolve({ proc, url: j.url, pods: j.pods });
      }
    });
    proc.once('exit', (code) => reject(new Error(`config-serve exited with ${code}`)));
  });
}

export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await done;
}

/** A valid worker heartbeat of a bench pod. */
export function heartbeatBody(p: BenchPod, bootId: string, seq: number, configRevision: string, intervalMs: number): string {
  return JSON.stringify({
    apiVersion: 'podpulse.io/v1', source: 'worker',
    instance: { podUid: p.podUid, namespace: 'bench', pod: `pod-${p.podUid.slice(0, 8)}`, app: p.app, tenant: 'acme' },
    agent: { daemonVersion: '1.0.0', workerVersion: '1.0.0', configRevision, breaker: 'closed', worker: 'running' },
    bootId, seq, sentAt: new Date().toISOString(), intervalMs, dropped: 0,
    checks: [{ id: 'dns-db', kind: 'dns', status: 'ok', code: 'OK', latencyMs: 1 }],
  });
}
