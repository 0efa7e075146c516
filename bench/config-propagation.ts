// How fast a config change reaches a fleet: 1,000 simulated agents (light loops in this process over real HTTP
// keep-alive connections to a collector process) beat every `--heartbeat` seconds and poll `GET /v1/agent/config`
// with If-None-Match every `--poll` seconds (± 20 %), as daemon/config-sync.ts does. One global document change,
// then the time until every agent runs the new revision. Run twice in the same run: agents that fetch at once when
// a heartbeat answer announces a newer revision (what daemons do), and, as the baseline, agents that only poll.
// Target: every agent within the poll interval + 2 s.
//
//   node bench/config-propagation.ts [--smoke] [--agents 1000] [--poll 10] [--heartbeat 5]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { heartbeatBody, startConfigCollector, stopProcess, type BenchPod } from './config-bench-agents.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, agents: { type: 'string' }, poll: { type: 'string' }, heartbeat: { type: 'string' } } });
const agents = Number(values.agents ?? (values.smoke ? 200 : 1000));
const pollMs = Number(values.poll ?? (values.smoke ? 4 : 10)) * 1000;
const heartbeatMs = Number(values.heartbeat ?? (values.smoke ? 2 : 5)) * 1000;

interface SimAgent { pod: BenchPod; etag?: string; revision: string; seq: number; fetching: boolean }

async function round(name: string, followHints: boolean): Promise<{ p50: number; p99: number; max: number; fetches: number }> {
  const server = await startConfigCollector(agents);
  const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  const bootId = randomUUID();
  const sims: SimAgent[] = server.pods.map((pod) => ({ pod, revision: '', seq: 0, fetching: false }));
  let changeAt = 0;
  let target = '';
  let fetches = 0;
  const reached = new Map<string, number>();
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];

  const fetchConfig = async (a: SimAgent): Promise<void> => {
    if (a.fetching) return;
    a.fetching = true;
    try {
      const res = await request(`${server.url}/v1/agent/config`, { dispatcher, headers: { authorization: `Bearer ${a.pod.token}`, ...(a.etag ? { 'if-none-match': a.etag } : {}) } });
      const text = await res.body.text();
      fetches++;
      if (res.statusCode === 200) {
        a.etag = res.headers.etag as string;
        a.revision = (JSON.parse(text) as { revision: string }).revision;
        if (target && a.revision === target && !reached.has(a.pod.podUid)) reached.set(a.pod.podUid, Date.now() - changeAt);
      }
    } finally {
      a.fetching = false;
    }
  };
  const beat = async (a: SimAgent): Promise<void> => {
    const res = await request(`${server.url}/v1/heartbeats`, { method: 'POST', dispatcher, headers: { authorization: `Bearer ${a.pod.token}`, 'content-type': 'application/json' }, body: heartbeatBody(a.pod, bootId, a.seq++, a.revision || 'r0', heartbeatMs) });
    const ack = (await res.body.json()) as { configRevision?: string };
    if (followHints && ack.configRevision && ack.configRevision !== a.revision) await fetchConfig(a);
  };
  const loop = (fn: () => Promise<void>, everyMs: number, jitter: boolean): void => {
    const next = () => {
      if (stopped) return;
      timers.push(setTimeout(() => void fn().catch(() => undefined).finally(next), jitter ? everyMs * (0.8 + 0.4 * Math.random()) : everyMs));
    };
    // Spread the fleet's phases over one interval, as real pods are.
    timers.push(setTimeout(() => void fn().catch(() => undefined).finally(next), Math.random() * everyMs));
  };
  // Start: every agent fetches once, then beats and polls on its own schedule.
  await Promise.all(sims.map((a) => fetchConfig(a)));
  for (const a of sims) {
    loop(() => beat(a), heartbeatMs, false);
    loop(() => fetchConfig(a), pollMs, true);
  }
  await new Promise((r) => setTimeout(r, Math.max(heartbeatMs, 2000)));
  fetches = 0;
  changeAt = Date.now();
  const res = await fetch(`${server.url}/api/v1/config/scopes/global`, {
    method: 'PUT',
    headers: { authorization: 'Bearer bench-admin-token', 'content-type': 'application/json' },
    body: JSON.stringify({ document: { heartbeat: { interval: '10s' }, checks: [{ id: 'dns-db', kind: 'dns', spec: { name: 'db2.bench.svc' } }] } }),
  });
  if (res.status !== 200) throw new Error(`config change failed: HTTP ${res.status}`);
  const one = await request(`${server.url}/v1/agent/config`, { dispatcher, headers: { authorization: `Bearer ${sims[0]!.pod.token}` } });
  target = ((await one.body.json()) as { revision: string }).revision;
  for (const a of sims) if (a.revision === target && !reached.has(a.pod.podUid)) reached.set(a.pod.podUid, 0);
  const deadline = Date.now() + pollMs * 2 + 10_000;
  while (reached.size < agents && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  stopped = true;
  for (const t of timers) clearTimeout(t);
  await dispatcher.close();
  await stopProcess(server.proc);
  const times = [...reached.values()].sort((x, y) => x - y);
  if (times.length < agents) throw new Error(`${name}: only ${times.length} of ${agents} agents reached the new revision`);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { p50: q(0.5), p99: q(0.99), max: times[times.length - 1]!, fetches };
}

console.log(`config propagation: ${agents} agents, heartbeat every ${heartbeatMs / 1000}s, poll every ${pollMs / 1000}s ± 20 %`);
const budget = pollMs + 2000;
for (const [name, follow] of [['polling only (baseline)', false], ['heartbeat hint + poll', true]] as const) {
  const r = await round(name, follow);
  console.log(`  ${name.padEnd(24)} all agents in ${(r.max / 1000).toFixed(2)} s  (p50 ${(r.p50 / 1000).toFixed(2)} s, p99 ${(r.p99 / 1000).toFixed(2)} s, ${r.fetches} config requests)  budget ${(budget / 1000).toFixed(1)} s: ${r.max <= budget ? 'met' : 'NOT met'}`);
}
