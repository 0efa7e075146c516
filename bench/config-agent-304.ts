// `GET /v1/agent/config` answering 304 (the steady state of every polling agent): requests/s with autocannon against
// a collector process, beside `/healthz` on the same server in the same run as the baseline. Requests rotate over
// 100 pods' tokens, each sending the ETag it holds. Target: ≥ 5,000 req/s.
//
//   node bench/config-agent-304.ts [--smoke] [--duration 10] [--connections 32]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { heartbeatBody, startConfigCollector, stopProcess } from './config-bench-agents.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, duration: { type: 'string' }, connections: { type: 'string' } } });
const duration = Number(values.duration ?? (values.smoke ? 3 : 10));
const connections = Number(values.connections ?? 32);
const TARGET = 5000;

const server = await startConfigCollector(100);
try {
  const bootId = randomUUID();
  // Each pod beats once (the collector learns its app and tenant) and fetches its config once (its ETag).
  const etags: string[] = [];
  for (const p of server.pods) {
    const hb = await fetch(`${server.url}/v1/heartbeats`, { method: 'POST', headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' }, body: heartbeatBody(p, bootId, 0, 'r0', 10_000) });
    if (hb.status !== 202) throw new Error(`heartbeat refused: HTTP ${hb.status} ${await hb.text()}`);
    const res = await fetch(`${server.url}/v1/agent/config`, { headers: { authorization: `Bearer ${p.token}` } });
    if (res.status !== 200) throw new Error(`config fetch: HTTP ${res.status}`);
    await res.arrayBuffer();
    etags.push(res.headers.get('etag')!);
  }
  let i = 0;
  const run = async (path: string, withEtag: boolean) => {
    const r = await autocannon({
      url: `${server.url}${path}`,
      connections,
      duration,
      requests: [{
        setupRequest: (req) => {
          if (!withEtag) return req;
          const k = i++ % server.pods.length;
          return { ...req, headers: { authorization: `Bearer ${server.pods[k]!.token}`, 'if-none-match': etags[k]! } };
        },
      }],
    });
    return r;
  };
  await run('/healthz', false); // warm-up
  await run('/v1/agent/config', true);
  const base = await run('/healthz', false);
  const cfg = await run('/v1/agent/config', true);
  const wanted = cfg.requests.total;
  console.log(`config 304 benchmark: ${connections} connections, ${duration}s each, 100 pods`);
  console.log(`  /healthz (baseline)          ${Math.round(base.requests.average).toString().padStart(7)} req/s  p50 ${base.latency.p50} ms  p99 ${base.latency.p99} ms  non-2xx ${base.non2xx}`);
  console.log(`  /v1/agent/config → 304       ${Math.round(cfg.requests.average).toString().padStart(7)} req/s  p50 ${cfg.latency.p50} ms  p99 ${cfg.latency.p99} ms  non-2xx ${cfg.non2xx} (304s count as non-2xx: ${cfg.non2xx === wanted ? 'all' : `${cfg.non2xx} of ${wanted}`})`);
  console.log(`  ratio to baseline ${(cfg.requests.average / base.requests.average).toFixed(2)}; target ≥ ${TARGET} req/s: ${cfg.requests.average >= TARGET ? 'met' : 'NOT met'}`);
} finally {
  await stopProcess(server.proc);
}
