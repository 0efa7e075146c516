import * as z from 'zod/mini';
import { apiVersion, dnsLabel, dnsSubdomain, identifier, labelValue, str, timestamp, version } from './common.ts';
import { CHECK_KINDS } from './checks/check-config.ts';
import { describeValue } from './violations.ts';
import { REASON_CODE_NAMES, REASON_CODES, codeAllows } from './codes.ts';

export const CHECK_STATUSES = ['ok', 'warn', 'fail', 'unknown'] as const;
export const CheckStatus = z.enum(CHECK_STATUSES);
export type CheckStatus = z.output<typeof CheckStatus>;

/** Limits that keep one heartbeat small: a pod cannot make the collector hold 10 MB of message. */
export const HEARTBEAT_LIMITS = {
  checks: 128,
  message: 1024,
  detailKeys: 16,
  detailValue: 256,
  batch: 1000,
} as const;

// The result and heartbeat schemas are built on their first parse (z.lazy): the worker checks what it builds with
// the hand-written validator in heartbeat-fast-path.ts and needs them only to word what that one refuses, so a
// worker that never builds an invalid heartbeat never builds them (docs/worker-footprint.md).

const detailValue = () => z.union([z.string().check(z.maxLength(HEARTBEAT_LIMITS.detailValue)), z.number(), z.boolean(), z.null()]);

/**
 * One check's latest result, compact: message and details only when the status is not ok. An ok result may be
 * sent as just `{id, kind, latencyMs}`: a missing `status` means `ok`, and a missing `code` means `OK`, which is
 * only allowed with `ok` (every other status must name its reason code). Parsed results always carry both, so
 * readers never see the short form.
 */
const checkResultFields = () => z
  .strictObject({
    id: identifier,
    kind: z.enum(CHECK_KINDS),
    status: z._default(CheckStatus, 'ok'),
    code: z.optional(
      z.enum(REASON_CODE_NAMES, {
        error: (iss) => `expected a reason code from the catalogue (docs/reason-codes.md), got ${describeValue(iss.input)}`,
      }),
    ),
    latencyMs: z.number().check(z.gte(0), z.lte(86_400_000)),
    /** When the result was produced (the heartbeat carries the latest result of each check). */
    at: z.optional(timestamp),
    message: z.optional(str(HEARTBEAT_LIMITS.message)),
    details: z.optional(
      z.record(z.string().check(z.maxLength(64), z.regex(/^[A-Za-z0-9_.-]+$/, 'must be a short key of letters, digits, "_", "-", "."')), detailValue()),
    ),
  })
  .check(z.superRefine((r, ctx) => {
    if (r.code === undefined) {
      if (r.status !== 'ok') ctx.addIssue({ code: 'custom', path: ['code'], message: `is required when status is "${r.status}" (only ok implies OK)` });
    } else if (!codeAllows(r.code, r.status)) {
      ctx.addIssue({
        code: 'custom',
        path: ['code'],
        message: `${r.code} cannot be reported with status "${r.status}" (allowed: ${REASON_CODES[r.code].statuses.join('|')})`,
      });
    }
    if (r.status === 'ok' && (r.message !== undefined || r.details !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [r.message !== undefined ? 'message' : 'details'], message: 'only allowed when status is not ok' });
    }
    if (r.details && Object.keys(r.details).length > HEARTBEAT_LIMITS.detailKeys) {
      ctx.addIssue({ code: 'custom', path: ['details'], message: `must have at most ${HEARTBEAT_LIMITS.detailKeys} keys` });
    }
  }));
type CheckResultFields = z.output<ReturnType<typeof checkResultFields>>;
export const CheckResult = z.lazy(() => z.pipe(
  checkResultFields(),
  z.transform(({ id, kind, status, code, ...rest }: CheckResultFields) => ({ id, kind, status, code: code ?? 'OK', ...rest })),
));
export type CheckResult = z.output<typeof CheckResult>;

/**
 * The shortest wire form of an ok result: `[id, kind, latencyMs]`, which reads as `{id, kind, latencyMs}` with
 * status ok and code OK. Most results in most heartbeats are ok, and the object form spends most of its bytes on
 * key names: fourteen ok checks take about 340 bytes less this way. The tuple is turned into the object form before
 * validation, so a bad element is reported at `checks[i].id`, `.kind` or `.latencyMs` as for an object.
 */
export type OkResultTuple = [id: string, kind: CheckResultFields['kind'], latencyMs: number];

export const OK_TUPLE_ERROR = 'an ok result in short form is [id, kind, latencyMs]';

/** A result as sent: the object form or the ok tuple. */
export const WireCheckResult = z.lazy(() => z.pipe(
  z.transform((v: unknown, ctx) => {
    if (!Array.isArray(v)) return v;
    if (v.length !== 3) {
      ctx.issues.push({ code: 'custom', message: OK_TUPLE_ERROR, input: v });
      return z.NEVER;
    }
    return { id: v[0] as unknown, kind: v[1] as unknown, latencyMs: v[2] as unknown };
  }),
  CheckResult,
));
export type WireCheckResult = z.input<typeof CheckResult> | OkResultTuple;

/** The app a pod belongs to: a label value that is not empty. */
export const appName = labelValue.check(z.minLength(1));

/** Who the heartbeat is about: the pod, from the downward API. The pod uid is the instance key. */
export const Instance = z.lazy(() => z.strictObject({
  podUid: z.uuid(),
  namespace: dnsLabel,
  pod: dnsSubdomain,
  node: z.optional(dnsSubdomain),
  app: appName,
  tenant: z._default(labelValue, ''),
  podIp: z.optional(z.union([z.ipv4(), z.ipv6()], { error: (iss) => `must be an IPv4 or IPv6 address, got ${describeValue(iss.input)}` })),
}));
export type Instance = z.output<typeof Instance>;

export const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;
export const WORKER_STATES = ['starting', 'running', 'down', 'crashloop', 'updating', 'stopped'] as const;
export const UPDATE_STATUSES = ['idle', 'installing', 'installed', 'failed', 'rolled-back'] as const;

/** The longest `agent.configError`: the code and the first violation, not the whole report. */
export const AGENT_CONFIG_ERROR_MAX = 256;

/** The sidecar's own state, as the daemon sees it. */
export const AgentState = z.lazy(() => z.strictObject({
  daemonVersion: version,
  workerVersion: version,
  configRevision: str(128),
  /** Absent means `closed`, the normal state (a worker's heartbeat leaves it out). */
  breaker: z._default(z.enum(BREAKER_STATES), 'closed'),
  breakerReason: z.optional(str(256)),
  /** Absent means `running`, the normal state (a worker's heartbeat leaves it out; the daemon always sends it). */
  worker: z._default(z.enum(WORKER_STATES), 'running'),
  /**
   * Set while the newest config fetched from the collector is refused (the last good one keeps running): its
   * error code and the first violation, e.g. `PODPULSE_ERR_CONFIG_INVALID checks[dns-db].timeout: ...`.
   */
  configError: z.optional(str(AGENT_CONFIG_ERROR_MAX)),
  update: z.optional(
    z.strictObject({
      desired: z.optional(version),
      current: version,
      status: z.enum(UPDATE_STATUSES),
      error: z.optional(str(512)),
    }),
  ),
}));
export type AgentState = z.output<typeof AgentState>;

/**
 * Heartbeat v1. `source` tells whether the worker sent it (with check results) or the daemon sent its own minimal
 * beat because the worker could not. The collector dedups on (podUid, bootId, seq) and sees gaps in seq.
 */
export const Heartbeat = z.lazy(() => z
  .strictObject({
    apiVersion,
    source: z.enum(['worker', 'daemon']),
    instance: Instance,
    agent: AgentState,
    bootId: z.uuid(),
    seq: z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER)),
    sentAt: timestamp,
    intervalMs: z.number().check(z.int(), z.gte(1000), z.lte(3_600_000)),
    /** Heartbeats this boot could not deliver and had to drop (spool full or too old); absent means none. */
    dropped: z._default(z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER)), 0),
    checks: z.array(WireCheckResult).check(z.maxLength(HEARTBEAT_LIMITS.checks)),
  })
  .check(z.superRefine((hb, ctx) => {
    const seen = new Map<string, number>();
    hb.checks.forEach((c, i) => {
      const first = seen.get(c.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['checks', i, 'id'], message: `duplicate check id "${c.id}" (also checks[${first}])` });
      else seen.set(c.id, i);
    });
  })));
export type Heartbeat = z.output<typeof Heartbeat>;
/** A heartbeat as sent (compact forms allowed); the transform's input type is `unknown`, so checks are typed here. */
export type HeartbeatInput = Omit<z.input<typeof Heartbeat>, 'checks'> & { checks: WireCheckResult[] };

/** A batch, used when a sidecar replays its spool. */
export const HeartbeatBatch = z.lazy(() => z.strictObject({
  apiVersion,
  heartbeats: z.array(Heartbeat).check(z.minLength(1), z.maxLength(HEARTBEAT_LIMITS.batch)),
}));
export type HeartbeatBatch = z.output<typeof HeartbeatBatch>;

/** The collector's 202 answer: what it took, and what the sidecar should do next. */
export const HeartbeatAck = z.strictObject({
  apiVersion,
  accepted: z.number().check(z.int(), z.gte(0)),
  duplicates: z.number().check(z.int(), z.gte(0)),
  configRevision: str(128),
  commandsPending: z.boolean(),
});
export type HeartbeatAck = z.output<typeof HeartbeatAck>;
