/**
 * Diagnosis throughput: observe() for N instances with 14 checks each, beside a baseline measured in the same run —
 * a loop that only validates the same heartbeats with the protocol schema (what ingest must do anyway). The ratio
 * says how much the diagnosis adds on top of parsing. Then a fleet-wide outage: every instance fails the same DNS
 * target from round 2 on, observed in batches of 20 as group commit hands them over at a few thousand heartbeats/s;
 * its slowest round (all instances joining one group, then firing) is printed beside its median round.
 * `--smoke` runs a small, quick version (CI).
 *
 *   node bench/diagnosis.ts [--smoke]
 */
import { randomUUID } from 'node:crypto';
import { Diagnoser } from '../collector/diagnosis/diagnoser.ts';
import { CHECK_KINDS, Heartbeat, parseWith, type CheckResult } from '../src/protocol/index.ts';
import { checkResult, heartbeat } from '../test/helpers/heartbeat-factory.ts';

const smoke = process.argv.includes('--smoke');
const INSTANCES = smoke ? 1_000 : 10_000;
const ROUNDS = smoke ? 3 : 7;
const BATCH = 500;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function checks(failing: boolean): CheckResult[] {
  return CHECK_KINDS.map((kind) =>
    failing && kind === 'dns'
      ? checkResult({ id: 'dns-db', kind, status: 'fail', code: 'DNS_NXDOMAIN', message: 'db.prod.svc: NXDOMAIN', details: { target: 'db.prod.svc' } })
      : checkResult({ id: `${kind}-main`, kind, latencyMs: 2 }),
  );
}

const pods = Array.from({ length: INSTANCES }, (_, i) => ({
  podUid: randomUUID(),
  bootId: randomUUID(),
  node: `node-${i % 200}`,
  app: `app-${i % 50}`,
  // 5% fail the same DNS target in rounds 2+: the correlator has a real group to maintain.
  failing: i % 20 === 0,
}));

/** One round of raw heartbeats (plain objects, as JSON.parse gives them); `outage`: every instance fails. */
function round(r: number, outage = false): unknown[] {
  const at = new Date(T0 + r * 10_000).toISOString();
  return pods.map((p) =>
    JSON.parse(JSON.stringify(heartbeat({ instance: { podUid: p.podUid, node: p.node, app: p.app }, bootId: p.bootId, seq: r, sentAt: at, checks: checks((outage || p.failing) && r >= 2) }))) as unknown,
  );
}

const OUTAGE_BATCH = 20;

/** Validates a round as ingest does; the schema parse is the baseline. */
function parseRound(raw: unknown[]): Heartbeat[] {
  return raw.map((x) => {
    const p = parseWith(Heartbeat, x);
    if (!p.ok) throw p.error;
    return p.value;
  });
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (n: number, ms: number): number => Math.round((n / ms) * 1000);

// Held in an object so it can be dropped before the retained-size measurement.
const holder: { d: Diagnoser | undefined } = { d: new Diagnoser() };
const parseRates: number[] = [];
const observeRates: number[] = [];
const tickMs: number[] = [];
let events = 0;
for (let r = 0; r < ROUNDS; r++) {
  const raw = round(r);
  const receivedAt = T0 + r * 10_000;

  let t = performance.now();
  const parsed = parseRound(raw);
  parseRates.push(rate(raw.length, performance.now() - t));

  t = performance.now();
  for (let i = 0; i < parsed.length; i += BATCH) events += holder.d!.observe(parsed.slice(i, i + BATCH), receivedAt).events.length;
  observeRates.push(rate(parsed.length, performance.now() - t));

  t = performance.now();
  events += holder.d!.tick(receivedAt + 5_000).events.length;
  tickMs.push(performance.now() - t);
}

const parse = median(parseRates);
const observe = median(observeRates);
console.log(`diagnosis bench${smoke ? ' (smoke)' : ''}: ${INSTANCES} instances × ${CHECK_KINDS.length} checks, ${ROUNDS} rounds, median of rounds`);
const us = (perSec: number): string => `${(1e6 / perSec).toFixed(1)} µs/heartbeat`;
console.log(`  baseline  schema parse only      ${parse.toLocaleString('en')} heartbeats/s  ${us(parse)}`);
console.log(`  diagnosis observe()              ${observe.toLocaleString('en')} heartbeats/s  ${us(observe)}  (costs ${(parse / observe).toFixed(2)}× the parse)`);
console.log(`  diagnosis tick() over the fleet  ${median(tickMs).toFixed(2)} ms`);
const tracked = holder.d!.size;
// What the diagnosis state retains: heap after gc with the Diagnoser alive, minus without it (needs --expose-gc).
const gc = (globalThis as { gc?: () => void }).gc;
let retained = 'run with node --expose-gc to measure';
if (gc) {
  gc();
  const withState = process.memoryUsage().heapUsed;
  holder.d = undefined;
  gc();
  retained = `${Math.round((withState - process.memoryUsage().heapUsed) / 2 ** 20)} MB (${Math.round((withState - process.memoryUsage().heapUsed) / tracked)} bytes/instance)`;
}
console.log(`  events emitted                   ${events}  (instances tracked: ${tracked})`);
console.log(`  diagnosis state retained         ${retained}`);

const outage = new Diagnoser();
const outageRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const parsed = parseRound(round(r, true));
  const receivedAt = T0 + r * 10_000;
  const t = performance.now();
  for (let i = 0; i < parsed.length; i += OUTAGE_BATCH) outage.observe(parsed.slice(i, i + OUTAGE_BATCH), receivedAt);
  outageRates.push(rate(parsed.length, performance.now() - t));
  outage.tick(receivedAt + 5_000);
}
const grouped = outage.openEvents(T0 + ROUNDS * 10_000).filter((e) => e.type === 'io.podpulse.dependency-failing');
console.log(`  fleet-wide outage, batches of ${OUTAGE_BATCH}: slowest round ${Math.min(...outageRates).toLocaleString('en')} heartbeats/s, median round ${median(outageRates).toLocaleString('en')} heartbeats/s (${grouped.length} group event: ${grouped[0]?.data.summary ?? 'none'})`);
