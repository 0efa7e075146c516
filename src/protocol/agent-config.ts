import { z } from 'zod';
import { parseDuration } from '../units.ts';
import { apiVersion, duration, identifier, ratio, sha256Hex, str, version } from './common.ts';
import { CheckConfig } from './checks/check-config.ts';
import { CommandTemplate } from './command.ts';

/** The worker release an instance should run; the daemon verifies sha256 and signature before installing. */
export const DesiredRelease = z.strictObject({
  version,
  url: z.url({ protocol: /^https?$/ }).max(2048),
  sha256: sha256Hex,
  /** ed25519 signature over the release manifest digest, base64. */
  signature: z.base64().max(128),
  keyId: identifier.optional(),
});
export type DesiredRelease = z.output<typeof DesiredRelease>;

/** Self-monitoring thresholds; a trip kills the worker and opens the breaker. */
export const BreakerConfig = z.strictObject({
  sampleInterval: duration.default('5s'),
  workerCpuPercent: z.number().min(1).max(800).default(20),
  cpuSamples: z.number().int().min(1).max(60).default(3),
  workerRssMb: z.number().min(16).max(4096).default(96),
  containerMemoryRatio: ratio.default(0.9),
  cooldown: duration.default('30s'),
  maxCooldown: duration.default('10m'),
});

/**
 * The effective config one instance runs. The config center merges scopes into this; the daemon caches the last
 * good one on disk; the worker schedules its checks.
 */
export const AgentConfig = z
  .strictObject({
    apiVersion,
    revision: str(128).default('0'),
    heartbeat: z.strictObject({ interval: duration.default('10s') }).default({ interval: '10s' }),
    defaults: z.strictObject({ interval: duration.default('10s'), timeout: duration.default('5s') }).default({ interval: '10s', timeout: '5s' }),
    checks: z.array(CheckConfig).max(128).default([]),
    breaker: BreakerConfig.default(BreakerConfig.parse({})),
    release: DesiredRelease.optional(),
    /** Templates the collector may request; the daemon still runs only those in its own local allowlist. */
    commandTemplates: z.array(CommandTemplate).max(64).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.checks.forEach((c, i) => {
      const first = seen.get(c.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['checks', i, 'id'], message: `duplicate check id "${c.id}" (also checks[${first}])` });
      else seen.set(c.id, i);
      const interval = c.interval ?? cfg.defaults.interval;
      const timeout = c.timeout ?? cfg.defaults.timeout;
      const iv = parseDuration(interval);
      const to = parseDuration(timeout);
      if (iv === undefined || to === undefined) return;
      if (to >= iv) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', i, c.timeout ? 'timeout' : 'interval'],
          message: `timeout "${timeout}" must be shorter than interval "${interval}"`,
        });
      }
      if (iv < 1000) ctx.addIssue({ code: 'custom', path: ['checks', i, 'interval'], message: `interval "${interval}" must be at least 1s` });
    });
    if ((parseDuration(cfg.heartbeat.interval) ?? 1000) < 1000) ctx.addIssue({ code: 'custom', path: ['heartbeat', 'interval'], message: 'must be at least 1s' });
    if ((parseDuration(cfg.breaker.cooldown) ?? 0) > (parseDuration(cfg.breaker.maxCooldown) ?? Infinity)) {
      ctx.addIssue({ code: 'custom', path: ['breaker', 'cooldown'], message: `must not exceed maxCooldown "${cfg.breaker.maxCooldown}"` });
    }
  });
export type AgentConfig = z.output<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;
