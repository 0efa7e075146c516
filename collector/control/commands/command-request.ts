import { z } from 'zod';
import { dnsLabel, dnsSubdomain, duration, identifier, labelValue, str } from '../../../src/protocol/common.ts';

const selector = z
  .strictObject({ namespace: z.optional(dnsLabel), app: z.optional(labelValue.check(z.minLength(1))), tenant: z.optional(labelValue), node: z.optional(dnsSubdomain) })
  .refine((s) => Object.values(s).some((v) => v !== undefined), { error: 'must name at least one of namespace, app, tenant, node' });

/**
 * `POST /api/v1/commands`: a template, its params, and a target — one instance by pod uid, or a selector with a
 * required `maxFanOut` (the most instances the operator expects; more matches refuse the whole request).
 */
export const CommandRequest = z.strictObject({
  template: identifier,
  params: z.record(z.string().max(63), str(1024)).default({}),
  target: z
    .strictObject({ podUid: z.uuid().optional(), selector: selector.optional(), maxFanOut: z.number().int().min(1).optional() })
    .superRefine((t, ctx) => {
      if ((t.podUid === undefined) === (t.selector === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of podUid and selector' });
      else if (t.selector !== undefined && t.maxFanOut === undefined) ctx.addIssue({ code: 'custom', path: ['maxFanOut'], message: 'is required with a selector: the most instances this command may reach' });
      else if (t.podUid !== undefined && t.maxFanOut !== undefined) ctx.addIssue({ code: 'custom', path: ['maxFanOut'], message: 'only applies to a selector' });
    }),
  /** How long the command may wait for its pod; at most the collector's commands.ttl. */
  ttl: z.optional(duration),
});
export type CommandRequest = z.output<typeof CommandRequest>;
