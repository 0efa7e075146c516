// The load generator for bench/ingest.ts, run as its own process so it does not share an event loop with the
// server under test. One heartbeat per request over keep-alive; each request is a new (pod, seq) so nothing is a
// duplicate. Prints one JSON line with the autocannon figures.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

const [url, durationS, connections, pods] = [process.argv[2]!, Number(process.argv[3] ?? 10), Number(process.argv[4] ?? 32), Number(process.argv[5] ?? 1000)];
const bootId = randomUUID();
const uids = Array.from({ length: pods }, () => randomUUID());
const seqs = new Array<number>(pods).fill(0);
let n = 0;

function body(): string {
  const i = n++ % pods;
  const uid = uids[i]!;
  const seq = seqs[i]!++;
  return JSON.stringify({
    apiVersion: 'podpulse.io/v1',
    source: 'worker',
    instance: { podUid: uid, namespace: 'bench', pod: `web-${i}`, node: `node-${i % 20}`, app: `app-${i % 10}`, tenant: 'acme', podIp: '10.1.2.3' },
    agent: { daemonVersion: '1.0.0', workerVersion: '1.0.0', configRevision: 'r1', breaker: 'closed', worker: 'running' },
    bootId,
    seq,
    sentAt: new Date().toISOString(),
    intervalMs: 10_000,
    dropped: 0,
    checks: [
      { id: 'dns-db', kind: 'dns', status: 'ok', code: 'OK', latencyMs: 1.2 },
      { id: 'tcp-cache', kind: 'tcp', status: 'ok', code: 'OK', latencyMs: 0.4 },
      { id: 'http-api', kind: 'http', status: seq % 50 === 0 ? 'fail' : 'ok', code: seq % 50 === 0 ? 'HTTP_STATUS' : 'OK', latencyMs: 12, ...(seq % 50 === 0 ? { message: 'HTTP 503' } : {}) },
    ],
  });
}

const result = await autocannon({
  url: `${url}/v1/heartbeats`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  connections,
  duration: durationS,
  requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
});
process.stdout.write(`${JSON.stringify({
  rps: result.requests.average,
  total: result.requests.total,
  p50: result.latency.p50,
  p99: result.latency.p99,
  max: result.latency.max,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
})}\n`);
