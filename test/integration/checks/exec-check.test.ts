import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCheck } from '../../../checks/exec-check.ts';
import { parseProcStat } from '../../../checks/process-match.ts';
import { checkContext } from '../../helpers/check-context.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'podpulse-exec-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const check = (input: Record<string, unknown>, timeoutMs?: number) => execCheck.run(execCheck.spec.parse(input), checkContext(timeoutMs ? { timeoutMs } : {}));

async function script(name: string, body: string, mode = 0o755): Promise<string> {
  const p = path.join(tmp, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, mode);
  return p;
}

/** Alive = its /proc entry exists and it is not a zombie (an unreaped zombie holds nothing). */
async function alive(pid: number): Promise<boolean> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'))?.state !== 'Z';
  } catch {
    return false;
  }
}

describe('exec check', () => {
  it('is ok when the program exits 0', async () => {
    expect(await check({ argv: [await script('ok.sh', 'echo all good; exit 0')] })).toEqual({ status: 'ok', code: 'OK' });
  });

  it('reports EXEC_FAILED with the first line of output when the program exits 1', async () => {
    const out = await check({ argv: [await script('fail.sh', 'echo; echo "queue depth 9000 > 1000"; echo second line; exit 1')] });
    expect(out).toMatchObject({ status: 'fail', code: 'EXEC_FAILED', message: 'queue depth 9000 > 1000', details: { exitCode: 1 } });
  });

  it('reports unknown EXEC_UNKNOWN when the program exits 2, another code, or by a signal', async () => {
    expect(await check({ argv: [await script('unknown.sh', 'echo cannot tell >&2; exit 2')] })).toMatchObject({
      status: 'unknown',
      code: 'EXEC_UNKNOWN',
      message: 'cannot tell',
      details: { exitCode: 2 },
    });
    expect(await check({ argv: [await script('three.sh', 'exit 3')] })).toMatchObject({ status: 'unknown', code: 'EXEC_UNKNOWN', details: { exitCode: 3 } });
    expect(await check({ argv: [await script('signal.sh', 'kill -KILL $$')] })).toMatchObject({
      status: 'unknown',
      code: 'EXEC_UNKNOWN',
      details: { exitCode: null, signal: 'SIGKILL' },
    });
  });

  it('reports unknown CHECK_MISCONFIGURED when the program does not exist or is not executable', async () => {
    expect(await check({ argv: [path.join(tmp, 'missing.sh')] })).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
    expect(await check({ argv: [await script('noexec.sh', 'exit 0', 0o644)] })).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });

  it('passes args and env without a shell, in cwd', async () => {
    const p = await script('args.sh', 'echo "$1|$2|$GREETING|$(pwd)"; exit 1');
    const out = await check({ argv: [p, 'a b', '$HOME'], env: { GREETING: 'hi' }, cwd: tmp });
    expect(out.message).toBe(`a b|$HOME|hi|${tmp}`);
  });

  it('kills the whole process group at the deadline, grandchildren included', async () => {
    const pidFile = path.join(tmp, 'grandchild.pid');
    const p = await script('hang.sh', `sleep 300 & echo $! > ${pidFile}\nsleep 300`);
    const started = Date.now();
    const out = await check({ argv: [p] }, 1_500);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(out).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    await expect.poll(() => alive(grandchild), { timeout: 5_000 }).toBe(false);
  });

  it('returns as soon as the program exits, killing a background child that still holds its output pipe', async () => {
    const pidFile = path.join(tmp, 'background.pid');
    const p = await script('background.sh', `sleep 300 & echo $! > ${pidFile}\nexit 0`);
    const started = Date.now();
    expect(await check({ argv: [p] }, 30_000)).toEqual({ status: 'ok', code: 'OK' });
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect.poll(() => readFile(pidFile, 'utf8').then((t) => alive(Number(t))), { timeout: 5_000 }).toBe(false);
  });

  it('keeps at most maxOutput bytes of a flood of output, and the program never blocks on a full pipe', async () => {
    // 8 MiB is far beyond a pipe buffer (64 KiB): if the pipes were not drained, the program would hang.
    const p = await script('flood.sh', 'head -c 8388608 /dev/zero | tr "\\\\0" x; exit 1');
    const out = await check({ argv: [p], maxOutput: 1024 }, 60_000);
    expect(out).toMatchObject({ status: 'fail', code: 'EXEC_FAILED', details: { truncated: true, outputBytes: 8388608 } });
    expect(out.details!.output).toHaveLength(1024);
    expect(out.message!.length).toBeLessThanOrEqual(200);
  });
});
