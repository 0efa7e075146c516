import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../helpers/dns-server.ts';
import { HeartbeatReceiver } from '../../helpers/heartbeat-receiver.ts';
import { closedPort } from '../../helpers/tcp-targets.ts';
import { startWorker, type WorkerProcess } from '../../helpers/worker-process.ts';

let worker: WorkerProcess | undefined;
let receiver: HeartbeatReceiver | undefined;
let dns: DnsServer | undefined;
afterEach(async () => {
  await worker?.cleanup();
  await receiver?.stop();
  await dns?.close();
});

const INTERVAL = 2000;

describe('never stall', () => {
  it('keeps every other check on schedule (within 10%) while a FIFO never opens and a DNS server drops every query', async () => {
    receiver = await HeartbeatReceiver.start();
    dns = await startDnsServer({ 'db.test': 'drop' });
    const port = await closedPort();
    const r = receiver;
    const server = dns.address;
    // The "other" checks fail on purpose: non-ok results carry their `at`, so their schedule can be read off the
    // heartbeats the receiver gets. They use the network, the threadpool (stat, /proc reads, a probe file) and timers.
    worker = startWorker((dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const every = { interval: `${INTERVAL}ms`, timeout: '1s' };
      return {
        collector: { url: r.url },
        spool: { dir: join(dir, 'spool') },
        probe: {
          apiVersion: 'podpulse.io/v1',
          heartbeat: { interval: '1s' },
          checks: [
            { id: 'fifo', kind: 'file', ...every, spec: { path: join(dir, 'fifo') } },
            { id: 'dns-drop', kind: 'dns', ...every, spec: { name: 'db.test', server } },
            { id: 'env', kind: 'env', ...every, spec: { required: [{ name: 'PODPULSE_SURELY_UNSET' }] } },
            { id: 'tcp', kind: 'tcp', ...every, spec: { host: '127.0.0.1', port } },
            { id: 'port', kind: 'port', ...every, spec: { port } },
            { id: 'file', kind: 'file', ...every, spec: { path: join(dir, 'absent') } },
            { id: 'http', kind: 'http', ...every, spec: { url: `http://127.0.0.1:${port}/` } },
            { id: 'disk', kind: 'disk', ...every, spec: { path: dir, failFreePercent: 100, warnFreePercent: 100 } },
          ],
        },
      };
    });
    await sleep(30_000);
    const beats = r.unique();
    expect(beats.length).toBeGreaterThanOrEqual(25);

    const byId = new Map<string, Array<{ code: string; at: number }>>();
    for (const hb of beats) {
      for (const c of hb.checks) {
        if (!c.at) continue;
        const list = byId.get(c.id) ?? [];
        const at = Date.parse(c.at);
        if (!list.some((x) => x.at === at)) list.push({ code: c.code, at });
        byId.set(c.id, list);
      }
    }
    const codes = (id: string) => [...new Set(byId.get(id)?.map((x) => x.code))];
    // The hung FIFO: one timeout, then HUNG every time with no new open() started.
    expect(codes('fifo')[0]).toBe('CHECK_TIMEOUT');
    expect(codes('fifo')).toContain('HUNG');
    expect(codes('dns-drop').every((c) => c === 'DNS_TIMEOUT' || c === 'CHECK_TIMEOUT')).toBe(true);

    const report: string[] = [];
    for (const id of ['env', 'tcp', 'port', 'file', 'http', 'disk']) {
      // The first run comes within the first second (for the first heartbeat); the schedule is the grid after it.
      const runs = byId.get(id)!.map((x) => x.at).sort((a, b) => a - b).slice(1);
      expect(runs.length, id).toBeGreaterThanOrEqual(11);
      const gaps = runs.slice(1).map((t, i) => t - runs[i]!);
      report.push(`${id}: ${codes(id).join(',')} gaps ${Math.min(...gaps)}..${Math.max(...gaps)} ms`);
      for (const g of gaps) {
        expect(g, `${id} gap`).toBeGreaterThanOrEqual(INTERVAL * 0.9);
        expect(g, `${id} gap`).toBeLessThanOrEqual(INTERVAL * 1.1);
      }
    }
    // The first beat goes as soon as the first round is in; the fixed-rate beats follow it.
    const sent = beats.slice(1).map((h) => Date.parse(h.sentAt));
    const beatGaps = sent.slice(1).map((t, i) => t - sent[i]!);
    report.push(`heartbeats: gaps ${Math.min(...beatGaps)}..${Math.max(...beatGaps)} ms`);
    console.log(report.join('\n'));
    for (const g of beatGaps) {
      expect(g).toBeGreaterThanOrEqual(900);
      expect(g).toBeLessThanOrEqual(1100);
    }
  }, 120_000);
});
