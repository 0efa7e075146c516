import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorDouble, type Json } from '../../helpers/collector-double.ts';
import { startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';

let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
  daemon = undefined;
  collector = undefined;
});

/** A port that was free a moment ago (the daemon binds it itself). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Local addresses (hex, as /proc/net/tcp writes them) of sockets in LISTEN state on `port`. */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [addr, p] = (f[1] ?? '').split(':');
      if (f[3] === '0A' && p !== undefined && parseInt(p, 16) === port) out.push(addr!);
    }
  }
  return out;
}

async function get(url: string): Promise<{ status: number; json: Json }> {
  const res = await request(url);
  return { status: res.statusCode, json: (await res.body.json()) as Json };
}

describe('daemon health port (opt-in)', () => {
  it('opens no port by default', async () => {
    collector = await new CollectorDouble().listen();
    daemon = startDaemon(testConfig(collector.url));
    await daemon.waitLog((l) => l.msg === 'agent config applied', 30_000);
    const pid = daemon.proc.pid!;
    // Every socket inode the daemon holds, against every listening socket on the host: none of them is the daemon's.
    const inodes = new Set<string>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f[3] === '0A' && f[9]) inodes.add(f[9]);
      }
    }
    const held = readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m ? [m[1]!] : [];
      } catch {
        return [];
      }
    });
    expect(held.filter((i) => inodes.has(i))).toEqual([]);
  });

  it('serves GET /healthz on 127.0.0.1 only: 200 with the status while running, 404 elsewhere, closed after stop', async () => {
    collector = await new CollectorDouble().listen();
    const port = await freePort();
    daemon = startDaemon(testConfig(collector.url, { health: { statusInterval: '500ms', port } }));
    await daemon.waitLog((l) => l.msg === 'agent config applied', 30_000);
    const base = `http://127.0.0.1:${port}`;
    // Until the first sync the daemon runs its injected default (revision "default"); wait for the collector's.
    let ok: { status: number; json: Json } | undefined;
    for (let i = 0; i < 200 && ok?.json.configRevision !== '1'; i++) {
      ok = await get(`${base}/healthz`).catch(() => undefined);
      if (ok?.json.configRevision !== '1') await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok?.status).toBe(200);
    expect(ok?.json).toMatchObject({ daemon: 'running', daemonPid: daemon.proc.pid, breaker: 'closed', configRevision: '1' });
    expect(listeners(port)).toEqual(['0100007F']);

    const other = await get(`${base}/metrics`);
    expect(other.status).toBe(404);
    expect(other.json.daemon).toBe('running');

    daemon.proc.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
    await expect(get(`${base}/healthz`)).rejects.toThrow();
    expect(listeners(port)).toEqual([]);
  });
});
