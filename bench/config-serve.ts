// A collector for the config benchmarks, run as its own process so the load does not share its event loop: static
// agent tokens `agent-token-<i>` bound to `--agents` generated pod uids, an admin operator token `bench-admin-token`,
// a global config document. Prints one JSON line `{url, pods: [{podUid, token}]}` when listening; SIGTERM stops it.
//
//   node bench/config-serve.ts [--agents 1000] [--dir /tmp/x]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CollectorConfig } from '../collector/config.ts';
import { startCollector } from '../collector/start-collector.ts';
import { createLogger } from '../src/log/logger.ts';

const { values } = parseArgs({ options: { agents: { type: 'string' }, dir: { type: 'string' } } });
const n = Number(values.agents ?? 1000);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'podpulse-config-bench-'));
const pods = Array.from({ length: n }, (_, i) => ({ podUid: randomUUID(), token: `agent-token-${String(i).padStart(8, '0')}`, app: `app-${i % 10}` }));
writeFileSync(join(dir, 'agents.json'), JSON.stringify({ tokens: pods.map((p, i) => ({ name: `pod-${i}`, token: p.token, namespace: 'bench', app: p.app, podUid: p.podUid })) }));
writeFileSync(join(dir, 'operators.json'), JSON.stringify({ tokens: [{ name: 'bench', token: 'bench-admin-token', role: 'admin' }] }));
const config = CollectorConfig.parse({
  listen: { host: '127.0.0.1', port: 0 },
  store: { path: join(dir, 'podpulse.db') },
  auth: { mode: 'static', tokensFile: join(dir, 'agents.json') },
  operators: { tokensFile: join(dir, 'operators.json') },
  log: { level: 'warn' },
});
const log = createLogger({ name: 'config-bench-collector', level: 'warn' });
const c = await startCollector(config, log);
const res = await fetch(`${c.url}/api/v1/config/scopes/global`, {
  method: 'PUT',
  headers: { authorization: 'Bearer bench-admin-token', 'content-type': 'application/json' },
  body: JSON.stringify({ document: { heartbeat: { interval: '10s' }, checks: [{ id: 'dns-db', kind: 'dns', spec: { name: 'db.bench.svc' } }] } }),
});
if (res.status !== 200) throw new Error(`seeding the global document failed: HTTP ${res.status} ${await res.text()}`);
process.stdout.write(`${JSON.stringify({ url: c.url, pods })}\n`);
process.once('SIGTERM', () => void c.close().then(() => process.exit(0)));
// Started by a benchmark over IPC: never outlive it.
process.once('disconnect', () => process.exit(0));
