import { z } from 'zod';
import { duration, identifier, ratio, version } from '../../../src/protocol/common.ts';
import { CheckConfig } from '../../../src/protocol/checks/check-config.ts';
import { CommandTemplate } from '../../../src/protocol/command.ts';

/**
 * One scope's part of the effective AgentConfig: every field optional, merged over the broader scopes. Checks and
 * command templates merge per id / name (a later scope replaces the whole entry); `removeChecks` drops checks a
 * broader scope set. `release` names a stored release by version; the collector fills in URL, sha256 and signature.
 * Ranges are checked on the merged result (AgentConfig), so a violation names the effective value's path.
 */
export const ConfigDocument = z.strictObject({
  heartbeat: z.strictObject({ interval: z.optional(duration) }).optional(),
  defaults: z.strictObject({ interval: z.optional(duration), timeout: z.optional(duration) }).optional(),
  checks: z.array(CheckConfig).max(128).optional(),
  removeChecks: z.array(identifier).max(128).optional(),
  breaker: z
    .strictObject({
      sampleInterval: z.optional(duration),
      workerCpuPercent: z.number().optional(),
      cpuSamples: z.number().int().optional(),
      workerRssMb: z.number().optional(),
      containerMemoryRatio: z.optional(ratio),
      cooldown: z.optional(duration),
      maxCooldown: z.optional(duration),
    })
    .optional(),
  release: z.strictObject({ version }).optional(),
  commandTemplates: z.array(CommandTemplate).max(64).optional(),
}).superRefine((d, ctx) => {
  const seen = new Map<string, number>();
  d.checks?.forEach((c, i) => {
    const first = seen.get(c.id);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['checks', i, 'id'], message: `duplicate check id "${c.id}" (also checks[${first}])` });
    else seen.set(c.id, i);
  });
  const names = new Set<string>();
  d.commandTemplates?.forEach((t, i) => {
    if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: ['commandTemplates', i, 'name'], message: `duplicate template "${t.name}"` });
    names.add(t.name);
  });
});
export type ConfigDocument = z.output<typeof ConfigDocument>;
