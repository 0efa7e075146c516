// A fleet of sidecars for bench/collector-memory.ts, in its own process: N instances, each posting one heartbeat
// per interval (one per request, over a keep-alive pool), staggered over the interval like real pods. 2 % of the
// instances fail one DNS target, so the diagnosis holds a real group. Prints one JSON line when done.
//
//   node bench/fleet-load.ts <base-url> <instances> <interval-ms> <seconds>
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

const [url, instances, intervalMs, seconds] = [process.argv[2]!, Number(process.argv[3] ?? 10_000), Number(process.argv[4] ?? 10_000), Number(process.argv[5] ?? 30)];
const pool = new Pool(url, { connections: 32 });
const pods = Array.from({ length: instances }, (_, i) => ({ uid: randomUUID(), boot: randomUUID(), seq: 0, i }));
let sent = 0;
let non2xx = 0;
let errors = 0;

function body(p: (typeof pods)[number]): string {
  const failing = p.i % 50 === 0;
  return JSON.stringify({
    apiVersion: 'podpulse.io/v1',
    source: 'worker',
    instance: { podUid: p.uid, namespace: 'bench', pod: `web-${p.i}`, node: `node-${p.i % 200}`, app: `app-${p.i % 50}`, tenant: 'acme', podIp: '10.1.2.3' },
    agent: { daemonVersion: '1.0.0', workerVersion: '1.0.0', configRevision: 'r1', breaker: 'closed', worker: 'running' },
    bootId: p.boot,
    seq: p.seq++,
    sentAt: new Date().toISOString(),
    intervalMs,
    dropped: 0,
    checks: [
      failing
        ? { id: 'dns-db', kind: 'dns', status: 'fail', code: 'DNS_NXDOMAIN', latencyMs: 3, message: 'db.prod.svc: NXDOMAIN', details: { target: 'db.prod.svc' } }
        : { id: 'dns-db', kind: 'dns', status: 'ok', code: 'OK', latencyMs: 1.2 },
      { id: 'tcp-cache', kind: 'tcp', status: 'ok', code: 'OK', latencyMs: 0.4 },
      { id: 'http-api', kind: 'http', status: 'ok', code: 'OK', latencyMs: 12 },
    ],
  });
}

async function post(p: (typeof pods)[number]): Promise<void> {
  try {
    const res = await pool.request({ path: '/v1/heartbeats', method: 'POST', headers: { 'content-type': 'application/json' }, body: body(p) });
    await res.body.dump();
    sent++;
    if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
  } catch {
    errors++;
  }
}

// Every tick of 10 ms sends the pods whose turn it is, so each pod beats once per interval.
const started = Date.now();
const inFlight = new Set<Promise<void>>();
let next = 0;
while (Date.now() - started < seconds * 1000) {
  const due = Math.floor(((Date.now() - started) / intervalMs) * instances);
  while (next < due) {
    const p = pods[next % instances]!;
    next++;
    const pr = post(p).finally(() => inFlight.delete(pr));
    inFlight.add(pr);
  }
  await new Promise((r) => setTimeout(r, 10));
}
await Promise.all(inFlight);
await pool.close();
process.stdout.write(`${JSON.stringify({ sent, non2xx, errors, seconds: (Date.now() - started) / 1000 })}\n`);
