import { open } from 'node:fs/promises';
import type { CheckContext, CheckDefinition, Outcome } from '../../checks/check.ts';
import { EnvSpec } from '../../src/protocol/checks/system-specs.ts';
import { FileSpec, MountSpec } from '../../src/protocol/checks/filesystem-specs.ts';
import type { CheckRegistry, ScheduledCheck } from '../../worker/scheduled-check.ts';

/**
 * Small real checks for driving the runner and scheduler: each behaves as the first required env var's name says,
 * so one registry serves every test. `sleep-N` waits N ms on a real timer (aborting with the deadline),
 * `hang` waits forever ignoring the signal, `throw` throws, `bad-code` returns a code not allowed with its status.
 */
export function behaviourCheck(onRun?: (name: string, ctx: CheckContext) => void): CheckDefinition<'env'> {
  return {
    kind: 'env',
    spec: EnvSpec,
    async run(spec, ctx): Promise<Outcome> {
      const name = spec.required[0]!.name;
      onRun?.(name, ctx);
      const sleep = /^sleep_(\d+)$/.exec(name);
      if (sleep) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, Number(sleep[1]));
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(ctx.signal.reason as Error);
          });
        });
        return { status: 'ok', code: 'OK', message: 'ignored for ok' };
      }
      if (name === 'hang') return new Promise<Outcome>(() => undefined);
      if (name === 'throw') throw new Error('boom: internal failure');
      if (name === 'bad_code') return { status: 'fail', code: 'OK' };
      if (name === 'long_message') return { status: 'fail', code: 'ENV_MISSING', message: 'x'.repeat(5000) };
      return { status: 'ok', code: 'OK' };
    },
  };
}

/** A file check that opens the file for reading: on a FIFO with no writer the open never returns (a real hang). */
export const openFileCheck: CheckDefinition<'file'> = {
  kind: 'file',
  spec: FileSpec,
  paths: (spec) => [spec.path],
  async run(spec) {
    const fh = await open(spec.path, 'r');
    await fh.close();
    return { status: 'ok', code: 'OK' };
  },
};

/** A mount check that honours the deadline by reporting MOUNT_HUNG itself, or hangs when the path says so. */
export const mountLikeCheck: CheckDefinition<'mount'> = {
  kind: 'mount',
  spec: MountSpec,
  paths: (spec) => [spec.path],
  run(spec, ctx) {
    if (spec.path.endsWith('/hang')) return new Promise<Outcome>(() => undefined);
    return new Promise<Outcome>((resolve) => {
      ctx.signal.addEventListener('abort', () => resolve({ status: 'fail', code: 'MOUNT_HUNG', message: `stat ${spec.path} did not answer` }));
    });
  },
};

export function registry(onRun?: (name: string, ctx: CheckContext) => void): CheckRegistry {
  return { env: behaviourCheck(onRun), file: openFileCheck, mount: mountLikeCheck };
}

export function envCheck(id: string, behaviour: string, intervalMs = 1000, timeoutMs = 500): ScheduledCheck {
  return { id, kind: 'env', spec: EnvSpec.parse({ required: [{ name: behaviour }] }), intervalMs, timeoutMs };
}

export function fileCheck(id: string, path: string, intervalMs = 1000, timeoutMs = 300): ScheduledCheck {
  return { id, kind: 'file', spec: FileSpec.parse({ path }), intervalMs, timeoutMs };
}

export function mountCheck(id: string, path: string, intervalMs = 1000, timeoutMs = 300): ScheduledCheck {
  return { id, kind: 'mount', spec: MountSpec.parse({ path }), intervalMs, timeoutMs };
}
