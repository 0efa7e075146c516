import * as z from 'zod/mini';
import { duration, identifier, regexText, str, timestamp } from './common.ts';

/** Output cap per stream: results never carry more than this, and say when they were cut. */
export const MAX_COMMAND_OUTPUT = 1024 * 1024;

// Built on first parse (z.lazy), like the release and breaker schemas (agent-config.ts): only the daemon runs commands.

/**
 * A named troubleshooting command: argv with `{param}` slots, each param constrained by a regex. argv only, no
 * shell. The daemon's local allowlist is a list of these; the collector can only name one and give params.
 */
export const CommandTemplate = z.lazy(() => z
  .strictObject({
    name: identifier,
    description: z.optional(str(256)),
    argv: z.array(str(4096, 1)).check(z.minLength(1), z.maxLength(64)),
    params: z._default(z.record(identifier, z.strictObject({ pattern: regexText, description: z.optional(str(256)) })), {}),
    timeout: z._default(duration, '30s'),
    maxOutputBytes: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_COMMAND_OUTPUT)), 64 * 1024),
  })
  .check(z.superRefine((t, ctx) => {
    const used = new Set<string>();
    t.argv.forEach((arg, i) => {
      for (const [, name] of arg.matchAll(/\{([^{}]*)\}/g)) {
        used.add(name!);
        if (!(name! in t.params)) ctx.addIssue({ code: 'custom', path: ['argv', i], message: `uses {${name}} which is not declared in params` });
      }
    });
    for (const p of Object.keys(t.params)) {
      if (!used.has(p)) ctx.addIssue({ code: 'custom', path: ['params', p], message: 'is declared but not used in argv' });
    }
  })));
export type CommandTemplate = z.output<typeof CommandTemplate>;

/** A command queued for one instance, as the agent's long poll delivers it. */
export const Command = z.lazy(() => z.strictObject({
  id: z.uuid(),
  template: identifier,
  params: z._default(z.record(identifier, str(1024)), {}),
  createdAt: timestamp,
  expiresAt: timestamp,
}));
export type Command = z.output<typeof Command>;

/** What running (or refusing) a command produced. */
export const CommandResult = z.lazy(() => z.strictObject({
  id: z.uuid(),
  status: z.enum(['completed', 'refused', 'timeout', 'error']),
  exitCode: z.nullable(z.number().check(z.int(), z.gte(0), z.lte(255))),
  signal: z.nullable(str(16)),
  startedAt: timestamp,
  finishedAt: timestamp,
  durationMs: z.number().check(z.gte(0)),
  stdout: z.string().check(z.maxLength(MAX_COMMAND_OUTPUT)),
  stderr: z.string().check(z.maxLength(MAX_COMMAND_OUTPUT)),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  /** Why it was refused or could not run. */
  error: z.optional(str(1024)),
}));
export type CommandResult = z.output<typeof CommandResult>;
