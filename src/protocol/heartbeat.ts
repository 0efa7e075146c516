import { z } from 'zod';
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

const detailValue = z.union([z.string().max(HEARTBEAT_LIMITS.detailValue), z.number(), z.boolean(), z.null()]);

/**
 * One check's latest result, compact: message and details only when the status is not ok. An ok result may be
 * sent as just `{id, kind, latencyMs}`: a missing `status` means `ok`, and a missing `code` means `OK`, which is
 * only allowed with `ok` (every other status must name its reason code). Parsed results always carry both, so
 * readers never see the short form.
 */
export const CheckResult = z
  .strictObject({
    id: identifier,
    kind: z.enum(CHECK_KINDS),
    status: CheckStatus.default('ok'),
    code: z
      .enum(REASON_CODE_NAMES, {
        error: (iss) => `expected a reason code from the catalogue (docs/reason-codes.md), got ${describeValue(iss.input)}`,
      })
      .optional(),
    latencyMs: z.number().min(0).max(86_400_000),
    /** When the result was produced (the heartbeat carries the latest result of each check). */
    at: timestamp.optional(),
    message: str(HEARTBEAT_LIMITS.message).optional(),
    details: z
      .record(z.string().max(64).regex(/^[A-Za-z0-9_.-]+$/, 'must be a short key of letters, digits, "_", "-", "."'), detailValue)
      .optional(),
  })
  .superRefine((r, ctx) => {
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
  })
  .transform(({ id, kind, status, code, ...rest }) => ({ id, kind, status, code: code ?? 'OK', ...rest }));
export type CheckResult = z.output<typeof CheckResult>;

/** Who the heartbeat is about: the pod, from the downward API. The pod uid is the instance key. */
export const Instance = z.strictObject({
  podUid: z.uuid(),
  namespace: dnsLabel,
  pod: dnsSubdomain,
  node: dnsSubdomain.optional(),
  app: labelValue.min(1),
  tenant: labelValue.default(''),
  podIp: z
    .union([z.ipv4(), z.ipv6()], { error: (iss) => `must be an IPv4 or IPv6 address, got ${describeValue(iss.input)}` })
    .optional(),
});
export type Instance = z.output<typeof Instance>;

export const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;
export const WORKER_STATES = ['starting', 'running', 'down', 'crashloop', 'updating', 'stopped'] as const;
export const UPDATE_STATUSES = ['idle', 'installing', 'installed', 'failed', 'rolled-back'] as const;

/** The longest `agent.configError`: the code and the first violation, not the whole report. */
export const AGENT_CONFIG_ERROR_MAX = 256;

/** The sidecar's own state, as the daemon sees it. */
export const AgentState = z.strictObject({
  daemonVersion: version,
  workerVersion: version,
  configRevision: str(128),
  /** Absent means `closed`, the normal state (a worker's heartbeat leaves it out). */
  breaker: z.enum(BREAKER_STATES).default('closed'),
  breakerReason: str(256).optional(),
  /** Absent means `running`, the normal state (a worker's heartbeat leaves it out; the daemon always sends it). */
  worker: z.enum(WORKER_STATES).default('running'),
  /**
   * Set while the newest config fetched from the collector is refused (the last good one keeps running): its
   * error code and the first violation, e.g. `PODPULSE_ERR_CONFIG_INVALID checks[dns-db].timeout: ...`.
   */
  configError: str(AGENT_CONFIG_ERROR_MAX).optional(),
  update: z
    .strictObject({
      desired: version.optional(),
      current: version,
      status: z.enum(UPDATE_STATUSES),
      error: str(512).optional(),
    })
    .optional(),
});
export type AgentState = z.output<typeof AgentState>;

/**
 * Heartbeat v1. `source` tells whether the worker sent it (with check results) or the daemon sent its own minimal
 * beat because the worker could not. The collector dedups on (podUid, bootId, seq) and sees gaps in seq.
 */
export const Heartbeat = z
  .strictObject({
    apiVersion,
    source: z.enum(['worker', 'daemon']),
    instance: Instance,
    agent: AgentState,
    bootId: z.uuid(),
    seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    sentAt: timestamp,
    intervalMs: z.number().int().min(1000).max(3_600_000),
    /** Heartbeats this boot could not deliver and had to drop (spool full or too old); absent means none. */
    dropped: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    checks: z.array(CheckResult).max(HEARTBEAT_LIMITS.checks),
  })
  .superRefine((hb, ctx) => {
    const seen = new Map<string, number>();
    hb.checks.forEach((c, i) => {
      const first = seen.get(c.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['checks', i, 'id'], message: `duplicate check id "${c.id}" (also checks[${first}])` });
      else seen.set(c.id, i);
    });
  });
export type Heartbeat = z.output<typeof Heartbeat>;
export type HeartbeatInput = z.input<typeof Heartbeat>;

/** A batch, used when a sidecar replays its spool. */
export const HeartbeatBatch = z.strictObject({
  apiVersion,
  heartbeats: z.array(Heartbeat).min(1).max(HEARTBEAT_LIMITS.batch),
});
export type HeartbeatBatch = z.output<typeof HeartbeatBatch>;

/** The collector's 202 answer: what it took, and what the sidecar should do next. */
export const HeartbeatAck = z.strictObject({
  apiVersion,
  accepted: z.number().int().min(0),
  duplicates: z.number().int().min(0),
  configRevision: str(128),
  commandsPending: z.boolean(),
});
export type HeartbeatAck = z.output<typeof HeartbeatAck>;
