// Admission webhook benchmark: latency of POST /admission/mutate over TLS at a fixed arrival rate (default 200
// AdmissionReviews/s, the target being p99 <= 10 ms), beside a bare node:https server that parses the same body and
// answers a fixed "allowed" review, both measured in this run. Each server runs in its own process; the load is
// open-loop (requests are sent on schedule whether or not earlier ones have answered) over keep-alive connections,
// as the apiserver sends them. `--smoke` runs a few seconds per target.
//
//   node bench/webhook.ts [--smoke] [--duration 15] [--rate 200]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Store } from '../collector/store/store.ts';
import { createMutateHandler } from '../collector/webhook/mutate-handler.ts';
import { startWebhook } from '../collector/webhook/start-webhook.ts';
import { generateCa, issueServingCert } from '../collector/webhook/tls-material.ts';
import { InjectionConfig, WebhookConfig } from '../collector/webhook/webhook-config.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, duration: { type: 'string' }, rate: { type: 'string' }, serve: { type: 'string' }, ca: { type: 'string' } } });
const self = fileURLToPath(import.meta.url);
const review = readFileSync(new URL('../test/fixtures/admission/plain.review.json', import.meta.url), 'utf8');

async function serve(kind: string): Promise<void> {
  let url: string;
  let ca: string;
  if (kind === 'webhook') {
    const config = WebhookConfig.parse({ enabled: true, listen: { host: '127.0.0.1', port: 0 } });
    // Production logs one line per injection; they go to /dev/null here but are still formatted and written.
    const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
    const w = await startWebhook({ config, log, store: {} as Store, kube: null });
    url = w.url;
    ca = w.rotator!.current!.caBundle;
  } else {
    const now = Date.now();
    const authority = await generateCa('bench-ca', now, 3_600_000);
    const leaf = await issueServingCert(authority, ['podpulse-collector.podpulse.svc'], now, 3_600_000);
    const server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string } };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.request.uid, allowed: true } }));
      });
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ca = authority.cert;
  }
  process.stdout.write(`${JSON.stringify({ url, ca })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

function start(kind: string): Promise<{ proc: ChildProcess; url: string; ca: string }> {
  const proc = spawn(process.execPath, [self, '--serve', kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) resolve({ proc, ...(JSON.parse(line) as { url: string; ca: string }) });
    });
    proc.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}: ${out}`)));
  });
}

interface Result { sent: number; ok: number; failed: number; late: number; p50: number; p99: number; max: number }

/**
 * Sends `rate` reviews a second for `seconds`, on schedule (open loop); latency is from the moment a request is
 * written to its full answer. The generator shares the machine, so a send can start late; `late` counts sends
 * more than 5 ms behind schedule, which says whether the offered rate was really offered.
 */
async function drive(url: string, ca: string, rate: number, seconds: number): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca, servername: 'podpulse-collector.podpulse.svc' });
  const target = new URL('/admission/mutate?timeout=5s', url);
  const latencies: number[] = [];
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - sent);
          else failed++;
          resolve();
        });
      });
      req.on('error', () => (failed++, resolve()));
      req.end(review);
    });
  // Warm-up: connections, TLS sessions, JIT.
  await Promise.all(Array.from({ length: 50 }, () => one()));
  latencies.length = 0;
  failed = 0;
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  let late = 0;
  for (let i = 0; i < total; i++) {
    const at = t0 + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (performance.now() - at > 5) late++;
    pending.push(one());
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { sent: total, ok: latencies.length, failed, late, p50: q(0.5), p99: q(0.99), max: latencies.at(-1) ?? NaN };
}

/** CPU per review of the handler alone (parse, decide, build the patch), without TLS or HTTP: the webhook's own share. */
function handlerCost(n: number): number {
  const log = pino({ level: 'warn' }, pino.destination({ dest: '/dev/null', sync: true }));
  const mutate = createMutateHandler({ context: () => ({ config: InjectionConfig.parse({}), ownNamespace: 'podpulse', nativeSupported: true, daemonConfig: undefined }), log });
  for (let i = 0; i < 200; i++) mutate(JSON.parse(review));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) mutate(JSON.parse(review));
  return ((performance.now() - t0) / n) * 1000;
}

if (values.serve) {
  await serve(values.serve);
} else {
  const seconds = Number(values.duration ?? (values.smoke ? 3 : 15));
  const rate = Number(values.rate ?? 200);
  const results: Record<string, Result> = {};
  for (const kind of ['baseline', 'webhook']) {
    const s = await start(kind);
    try {
      results[kind] = await drive(s.url, s.ca, rate, seconds);
    } finally {
      s.proc.kill('SIGTERM');
    }
  }
  const f = (n: number) => n.toFixed(2);
  const b = results.baseline!;
  const w = results.webhook!;
  console.log(`webhook benchmark: ${rate} AdmissionReviews/s for ${seconds}s over TLS (keep-alive), open loop`);
  console.log(`  baseline (fixed allowed answer): p50 ${f(b.p50)} ms  p99 ${f(b.p99)} ms  max ${f(b.max)} ms  ok ${b.ok}/${b.sent}  late sends ${b.late}`);
  console.log(`  webhook (/admission/mutate):     p50 ${f(w.p50)} ms  p99 ${f(w.p99)} ms  max ${f(w.max)} ms  ok ${w.ok}/${w.sent}  late sends ${w.late}`);
  console.log(`  p50 ratio webhook/baseline: ${f(w.p50 / b.p50)}x; p99 ratio: ${f(w.p99 / b.p99)}x; target p99 <= 10 ms: ${w.p99 <= 10 ? 'met' : 'NOT met'}`);
  console.log(JSON.stringify({ bench: 'webhook', rate, seconds, baseline: b, webhook: w, p50Ratio: w.p50 / b.p50, p99Ratio: w.p99 / b.p99 }));
  console.log(`  handler alone (JSON.parse + injection + patch, no TLS/HTTP): ${handlerCost(values.smoke ? 2000 : 20_000).toFixed(1)} µs per review`);
  if (w.failed > 0) process.exitCode = 1;
}
