import * as z from 'zod/mini';
import { parseDuration } from '../units.ts';
import { apiVersion, duration, identifier, ratio, sha256Hex, str, version } from './common.ts';
import { CheckConfig } from './checks/check-config.ts';
import { CommandTemplate } from './command.ts';

// The release, breaker and command template (command.ts) schemas are built on their first parse (z.lazy): a config
// without templates never builds theirs, and one without `breaker` takes the defaults written out below. (An
// optional field's schema, such as the release's, is built on the first parse of its object all the same: zod asks
// it whether it has a default.) docs/worker-footprint.md has what that saves.

/** The worker release an instance should run; the daemon verifies sha256 and signature before installing. */
export const DesiredRelease = z.lazy(() => z.strictObject({
  version,
  url: z.url({ protocol: /^https?$/ }).check(z.maxLength(2048)),
  sha256: sha256Hex,
  /** ed25519 signature over the release manifest digest, base64. */
  signature: z.base64().check(z.maxLength(128)),
  keyId: z.optional(identifier),
}));
export type DesiredRelease = z.output<typeof DesiredRelease>;

/** Self-monitoring thresholds; a trip kills the worker and opens the breaker. */
export const BreakerConfig = z.lazy(() => z.strictObject({
  sampleInterval: z._default(duration, '5s'),
  workerCpuPercent: z._default(z.number().check(z.gte(1), z.lte(800)), 20),
  cpuSamples: z._default(z.number().check(z.int(), z.gte(1), z.lte(60)), 3),
  workerRssMb: z._default(z.number().check(z.gte(16), z.lte(4096)), 96),
  containerMemoryRatio: z._default(ratio, 0.9),
  cooldown: z._default(duration, '30s'),
  maxCooldown: z._default(duration, '10m'),
}));
export type BreakerConfig = z.output<typeof BreakerConfig>;

/** `BreakerConfig.parse({})`, written out (a test holds the two equal) so that a config without `breaker` does not build it. */
export const BREAKER_DEFAULTS: BreakerConfig = {
  sampleInterval: '5s',
  workerCpuPercent: 20,
  cpuSamples: 3,
  workerRssMb: 96,
  containerMemoryRatio: 0.9,
  cooldown: '30s',
  maxCooldown: '10m',
};

/**
 * The effective config one instance runs. The config center merges scopes into this; the daemon caches the last
 * good one on disk; the worker schedules its checks.
 */
export const AgentConfig = z
  .strictObject({
    apiVersion,
    revision: z._default(str(128), '0'),
    heartbeat: z._default(z.strictObject({ interval: z._default(duration, '10s') }), { interval: '10s' }),
    defaults: z._default(z.strictObject({ interval: z._default(duration, '10s'), timeout: z._default(duration, '5s') }), { interval: '10s', timeout: '5s' }),
    checks: z._default(z.array(CheckConfig).check(z.maxLength(128)), []),
    breaker: z._default(BreakerConfig, BREAKER_DEFAULTS),
    release: z.optional(DesiredRelease),
    /** Templates the collector may request; the daemon still runs only those in its own local allowlist. */
    commandTemplates: z._default(z.array(CommandTemplate).check(z.maxLength(64)), []),
  })
  .check(z.superRefine((cfg, ctx) => {
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
  }));
export type AgentConfig = z.output<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;
