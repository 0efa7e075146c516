import * as z from 'zod/mini';
import { API_VERSION, dnsLabel, dnsSubdomain, identifier, labelValue, timestamp, version } from './common.ts';
import { CHECK_KINDS } from './checks/check-config.ts';
import { REASON_CODES, codeAllows, type ReasonCode } from './codes.ts';
import {
  AGENT_CONFIG_ERROR_MAX, BREAKER_STATES, CHECK_STATUSES, HEARTBEAT_LIMITS, UPDATE_STATUSES, WORKER_STATES, appName,
  type AgentState, type CheckResult, type CheckStatus, type Heartbeat,
} from './heartbeat.ts';

/*
 * A hand-written validator for heartbeats, run before the zod schema in heartbeat.ts because the collector
 * validates every heartbeat it receives and zod costs several times more per heartbeat. It is a subset of the
 * schema: it returns a value only when the schema would accept the input and produce that same value (same
 * defaults, same key order); anything it is not sure of (an IPv6 podIp, a duplicate check id, any violation at
 * all) returns undefined and the caller asks zod, which gives the verdict and the messages. So what is accepted
 * and what a 400 says are the schema's alone. test/unit/protocol/heartbeat-fast-path.test.ts compares both on
 * random and mutated heartbeats. The worker checks each result and heartbeat it builds the same way, so it builds
 * the zod schemas (lazily, on first use) only when something it built is refused.
 */

/** Length bounds and pattern of a zod string schema, read from its definition so the two cannot drift apart. */
interface StringRule {
  min: number;
  max: number;
  pattern: RegExp | undefined;
}

interface StringDef {
  type: string;
  pattern?: RegExp;
  checks?: { _zod: { def: { check: string; format?: string; pattern?: RegExp; maximum?: number; minimum?: number } } }[];
}

function stringRule(schema: z.core.$ZodType): StringRule {
  const def = (schema as unknown as { _zod: { def: StringDef } })._zod.def;
  if (def.type !== 'string') throw new Error(`fast path: expected a string schema, got ${def.type}`);
  const rule: StringRule = { min: 0, max: Infinity, pattern: def.pattern };
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'max_length') rule.max = Math.min(rule.max, d.maximum!);
    else if (d.check === 'min_length') rule.min = Math.max(rule.min, d.minimum!);
    else if (d.check === 'string_format' && d.format === 'regex' && !rule.pattern) rule.pattern = d.pattern;
    // A check this reader does not know would be skipped silently: refuse to start instead.
    else throw new Error(`fast path: unsupported string check ${d.check}${d.format ? ` (${d.format})` : ''}`);
  }
  return rule;
}

const R = {
  identifier: stringRule(identifier),
  dnsLabel: stringRule(dnsLabel),
  dnsSubdomain: stringRule(dnsSubdomain),
  app: stringRule(appName),
  tenant: stringRule(labelValue),
  version: stringRule(version),
  timestamp: stringRule(timestamp),
  uuid: stringRule(z.uuid()),
  ipv4: stringRule(z.ipv4()),
  detailKey: { min: 0, max: 64, pattern: /^[A-Za-z0-9_.-]+$/ },
} satisfies Record<string, StringRule>;

function isStr(v: unknown, rule: StringRule): v is string {
  return typeof v === 'string' && v.length >= rule.min && v.length <= rule.max && (rule.pattern === undefined || rule.pattern.test(v));
}

const bounded = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
const intIn = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

function oneOf<T extends string>(values: readonly T[]): (v: unknown) => v is T {
  const set = new Set<unknown>(values);
  return (v: unknown): v is T => set.has(v);
}
const isKind = oneOf(CHECK_KINDS);
const isStatus = oneOf(CHECK_STATUSES);
const isCode = (v: unknown): v is ReasonCode => typeof v === 'string' && Object.hasOwn(REASON_CODES, v);
const isBreaker = oneOf(BREAKER_STATES);
const isWorker = oneOf(WORKER_STATES);
const isUpdateStatus = oneOf(UPDATE_STATUSES);
const isSource = oneOf(['worker', 'daemon'] as const);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether every own key of `o` is one of `allowed` (strict objects refuse the rest). */
function onlyKeys(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

const CHECK_KEYS = new Set(['id', 'kind', 'status', 'code', 'latencyMs', 'at', 'message', 'details']);
const INSTANCE_KEYS = new Set(['podUid', 'namespace', 'pod', 'node', 'app', 'tenant', 'podIp']);
const AGENT_KEYS = new Set(['daemonVersion', 'workerVersion', 'configRevision', 'breaker', 'breakerReason', 'worker', 'configError', 'update']);
const UPDATE_KEYS = new Set(['desired', 'current', 'status', 'error']);
const HEARTBEAT_KEYS = new Set(['apiVersion', 'source', 'instance', 'agent', 'bootId', 'seq', 'sentAt', 'intervalMs', 'dropped', 'checks']);
const BATCH_KEYS = new Set(['apiVersion', 'heartbeats']);

function details(v: unknown): Record<string, string | number | boolean | null> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, string | number | boolean | null> = {};
  let n = 0;
  for (const k in v) {
    // `__proto__` as an own key would be assigned differently here and in zod: leave it to zod.
    if (k === '__proto__' || !isStr(k, R.detailKey)) return undefined;
    const x = v[k];
    if (!(x === null || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)) || bounded(x, HEARTBEAT_LIMITS.detailValue))) return undefined;
    out[k] = x;
    n++;
  }
  return n <= HEARTBEAT_LIMITS.detailKeys ? out : undefined;
}

/** The schema's output for one check result (either wire form) when the fast path can vouch for it. */
export function fastCheckResult(v: unknown): CheckResult | undefined {
  // The ok short form [id, kind, latencyMs] (heartbeat.ts): the same checks as the object form without status.
  if (Array.isArray(v)) return v.length === 3 ? fastCheckResult({ id: v[0] as unknown, kind: v[1] as unknown, latencyMs: v[2] as unknown }) : undefined;
  if (!isObj(v) || !onlyKeys(v, CHECK_KEYS)) return undefined;
  const { id, kind, latencyMs, at, message } = v;
  if (!isStr(id, R.identifier) || !isKind(kind)) return undefined;
  let status: CheckStatus = 'ok';
  if (v.status !== undefined) {
    if (!isStatus(v.status)) return undefined;
    status = v.status;
  }
  let code: ReasonCode = 'OK';
  if (v.code !== undefined) {
    if (!isCode(v.code) || !codeAllows(v.code, status)) return undefined;
    code = v.code;
  } else if (status !== 'ok') return undefined;
  if (typeof latencyMs !== 'number' || !(latencyMs >= 0 && latencyMs <= 86_400_000)) return undefined;
  const out: CheckResult = { id, kind, status, code, latencyMs };
  if (at !== undefined) {
    if (!isStr(at, R.timestamp)) return undefined;
    out.at = at;
  }
  if (message !== undefined) {
    if (status === 'ok' || !bounded(message, HEARTBEAT_LIMITS.message)) return undefined;
    out.message = message;
  }
  if (v.details !== undefined) {
    const d = status === 'ok' ? undefined : details(v.details);
    if (!d) return undefined;
    out.details = d;
  }
  return out;
}

function instance(v: unknown): Heartbeat['instance'] | undefined {
  if (!isObj(v) || !onlyKeys(v, INSTANCE_KEYS)) return undefined;
  const { podUid, namespace, pod, node, app, tenant, podIp } = v;
  if (!isStr(podUid, R.uuid) || !isStr(namespace, R.dnsLabel) || !isStr(pod, R.dnsSubdomain) || !isStr(app, R.app)) return undefined;
  if (node !== undefined && !isStr(node, R.dnsSubdomain)) return undefined;
  if (tenant !== undefined && !isStr(tenant, R.tenant)) return undefined;
  // IPv6 has a check beyond its pattern in zod: only IPv4 takes the fast path.
  if (podIp !== undefined && !isStr(podIp, R.ipv4)) return undefined;
  // Keys in the schema's order, as zod builds its output.
  const out: Record<string, unknown> = { podUid, namespace, pod };
  if (node !== undefined) out.node = node;
  out.app = app;
  out.tenant = tenant ?? '';
  if (podIp !== undefined) out.podIp = podIp;
  return out as Heartbeat['instance'];
}

function agent(v: unknown): AgentState | undefined {
  if (!isObj(v) || !onlyKeys(v, AGENT_KEYS)) return undefined;
  const { daemonVersion, workerVersion, configRevision, breaker, breakerReason, worker, configError, update } = v;
  if (!isStr(daemonVersion, R.version) || !isStr(workerVersion, R.version) || !bounded(configRevision, 128)) return undefined;
  if (breaker !== undefined && !isBreaker(breaker)) return undefined;
  if (breakerReason !== undefined && !bounded(breakerReason, 256)) return undefined;
  if (worker !== undefined && !isWorker(worker)) return undefined;
  if (configError !== undefined && !bounded(configError, AGENT_CONFIG_ERROR_MAX)) return undefined;
  const out: Record<string, unknown> = { daemonVersion, workerVersion, configRevision, breaker: breaker ?? 'closed' };
  if (breakerReason !== undefined) out.breakerReason = breakerReason;
  out.worker = worker ?? 'running';
  if (configError !== undefined) out.configError = configError;
  if (update !== undefined) {
    if (!isObj(update) || !onlyKeys(update, UPDATE_KEYS)) return undefined;
    const { desired, current, status, error } = update;
    if ((desired !== undefined && !isStr(desired, R.version)) || !isStr(current, R.version) || !isUpdateStatus(status)) return undefined;
    if (error !== undefined && !bounded(error, 512)) return undefined;
    const u: NonNullable<AgentState['update']> = desired !== undefined ? { desired, current, status } : { current, status };
    if (error !== undefined) u.error = error;
    out.update = u;
  }
  return out as AgentState;
}

/** The schema's output for `v` when the fast path can vouch for it; undefined means "ask the zod schema". */
export function fastHeartbeat(v: unknown): Heartbeat | undefined {
  if (!isObj(v) || !onlyKeys(v, HEARTBEAT_KEYS) || v.apiVersion !== API_VERSION || !isSource(v.source)) return undefined;
  const inst = instance(v.instance);
  const ag = inst && agent(v.agent);
  if (!ag) return undefined;
  const { bootId, seq, sentAt, intervalMs, dropped } = v;
  if (!isStr(bootId, R.uuid) || !intIn(seq, 0, Number.MAX_SAFE_INTEGER) || !isStr(sentAt, R.timestamp) || !intIn(intervalMs, 1000, 3_600_000)) return undefined;
  if (dropped !== undefined && !intIn(dropped, 0, Number.MAX_SAFE_INTEGER)) return undefined;
  if (!Array.isArray(v.checks) || v.checks.length > HEARTBEAT_LIMITS.checks) return undefined;
  const checks: CheckResult[] = [];
  const ids = new Set<string>();
  for (const c of v.checks as unknown[]) {
    const r = fastCheckResult(c);
    if (!r || ids.has(r.id)) return undefined;
    ids.add(r.id);
    checks.push(r);
  }
  return { apiVersion: API_VERSION, source: v.source, instance: inst, agent: ag, bootId, seq, sentAt, intervalMs, dropped: dropped ?? 0, checks };
}

/** The same for a POST body: one heartbeat or a batch (`{apiVersion, heartbeats: [...]}`). */
export function fastHeartbeatPayload(v: unknown): { heartbeats: Heartbeat[]; batch: boolean } | undefined {
  if (!isObj(v) || !('heartbeats' in v)) {
    const hb = fastHeartbeat(v);
    return hb && { heartbeats: [hb], batch: false };
  }
  if (!onlyKeys(v, BATCH_KEYS) || v.apiVersion !== API_VERSION || !Array.isArray(v.heartbeats)) return undefined;
  const list = v.heartbeats as unknown[];
  if (list.length < 1 || list.length > HEARTBEAT_LIMITS.batch) return undefined;
  const heartbeats: Heartbeat[] = [];
  for (const x of list) {
    const hb = fastHeartbeat(x);
    if (!hb) return undefined;
    heartbeats.push(hb);
  }
  return { heartbeats, batch: true };
}
