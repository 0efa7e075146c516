import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckResult } from '../../../src/protocol/heartbeat.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { CHECKS } from '../../../checks/registry.ts';
import { CheckRunner } from '../../../worker/runner.ts';
import { envCheck, fileCheck, mountCheck, registry } from '../../helpers/test-checks.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A FIFO with no writer: opening it for reading blocks until a writer comes (released at cleanup). */
function fifo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'podpulse-runner-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  cleanups.push(() => {
    // Opening the write end releases the reader blocked in the threadpool; then the FIFO can go.
    const fd = openSync(path, 'w');
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

describe('CheckRunner', () => {
  it('reports unknown CHECK_TIMEOUT when a check ignores its deadline', async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 4, log, graceMs: 50 });
    const t0 = Date.now();
    const r = await runner.run(envCheck('slow', 'hang', 1000, 200));
    const took = Date.now() - t0;
    expect(r).toMatchObject({ id: 'slow', kind: 'env', status: 'unknown', code: 'CHECK_TIMEOUT' });
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2000);
    expect(CheckResult.safeParse(r).success).toBe(true);
  });

  it("keeps a check's own verdict given at its deadline (MOUNT_HUNG)", async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 4, log });
    const r = await runner.run(mountCheck('nfs', '/mnt/nfs', 1000, 150));
    expect(r).toMatchObject({ status: 'fail', code: 'MOUNT_HUNG' });
    expect(r.latencyMs).toBeGreaterThanOrEqual(140);
  });

  it('reports unknown CHECK_ERROR with the message when a check throws', async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 4, log });
    const r = await runner.run(envCheck('bad', 'throw'));
    expect(r).toMatchObject({ status: 'unknown', code: 'CHECK_ERROR', message: 'boom: internal failure' });
  });

  it('turns an outcome the protocol refuses into CHECK_ERROR and cuts long messages', async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 4, log });
    const bad = await runner.run(envCheck('bad', 'bad_code'));
    expect(bad).toMatchObject({ status: 'unknown', code: 'CHECK_ERROR' });
    expect(bad.message).toContain('OK cannot be reported with status "fail"');
    const long = await runner.run(envCheck('long', 'long_message'));
    expect(long.code).toBe('ENV_MISSING');
    expect(long.message!.length).toBe(1024);
  });

  it('drops message and details from ok results and measures latency', async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 4, log });
    const r = await runner.run(envCheck('nap', 'sleep_120'));
    expect(r.status).toBe('ok');
    expect(r.message).toBeUndefined();
    expect(r.latencyMs).toBeGreaterThanOrEqual(115);
  });

  it('reports HUNG and starts nothing when the previous run of the check is still pending', async () => {
    const calls: string[] = [];
    const runner = new CheckRunner({ registry: registry((n) => calls.push(n)), concurrency: 4, log, graceMs: 20 });
    const check = envCheck('stuck', 'hang', 1000, 100);
    const first = await runner.run(check);
    expect(first.code).toBe('CHECK_TIMEOUT');
    const second = await runner.run(check);
    expect(second).toMatchObject({ status: 'fail', code: 'HUNG' });
    expect(second.message).toMatch(/still pending; no new run started/);
    expect(calls).toEqual(['hang']);
    expect(runner.outstanding).toBe(1);
  });

  it('reports MOUNT_HUNG for a mount check whose previous run is still pending', async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 4, log, graceMs: 20 });
    const check = mountCheck('nfs', '/mnt/hang', 1000, 100);
    expect((await runner.run(check)).code).toBe('CHECK_TIMEOUT');
    expect(await runner.run(check)).toMatchObject({ status: 'fail', code: 'MOUNT_HUNG' });
  });

  it('allows one outstanding operation per path: a second check on a hung FIFO reports HUNG without opening it', async () => {
    const path = fifo();
    const runner = new CheckRunner({ registry: registry(), concurrency: 4, log, graceMs: 20 });
    const a = await runner.run(fileCheck('fifo-a', path, 1000, 150));
    expect(a.code).toBe('CHECK_TIMEOUT');
    const b = await runner.run(fileCheck('fifo-b', path, 1000, 150));
    expect(b).toMatchObject({ status: 'fail', code: 'HUNG' });
    expect(b.message).toContain(`an operation on ${path} (check fifo-a)`);
    expect(b.latencyMs).toBe(0);
    // Only the first run is outstanding: the second started no open() of its own.
    expect(runner.outstanding).toBe(1);
  });

  it('lets a second check wait for a live operation on the same path and then run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-runner-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const order: string[] = [];
    const reg = registry();
    const slowMount = { ...reg.mount!, run: async () => { order.push('start-a'); await new Promise((r) => setTimeout(r, 150)); order.push('end-a'); return { status: 'ok' as const, code: 'OK' as const }; } };
    const runner = new CheckRunner({ registry: { ...reg, mount: slowMount, file: { ...reg.file!, run: () => { order.push('b'); return Promise.resolve({ status: 'ok' as const, code: 'OK' as const }); } } }, concurrency: 4, log });
    const [a, b] = await Promise.all([runner.run(mountCheck('a', dir, 1000, 800)), runner.run(fileCheck('b', dir, 1000, 800))]);
    expect([a.status, b.status]).toEqual(['ok', 'ok']);
    expect(order).toEqual(['start-a', 'end-a', 'b']);
  });

  it('runs at most `concurrency` checks at once and queues the rest', async () => {
    let running = 0;
    let peak = 0;
    const reg = registry();
    const env = { ...reg.env!, run: async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 100));
      running--;
      return { status: 'ok' as const, code: 'OK' as const };
    } };
    const runner = new CheckRunner({ registry: { env }, concurrency: 2, log });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => runner.run(envCheck(`c${i}`, 'x', 5000, 3000))));
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(peak).toBe(2);
  });

  it('reports CHECK_TIMEOUT when no slot frees up before the deadline', async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 1, log, graceMs: 20 });
    const hog = runner.run(envCheck('hog', 'sleep_400', 5000, 1000));
    const starved = await runner.run(envCheck('starved', 'x', 5000, 100));
    expect(starved).toMatchObject({ status: 'unknown', code: 'CHECK_TIMEOUT' });
    expect(starved.message).toContain('no free slot');
    expect((await hog).status).toBe('ok');
  });

  it('frees the concurrency slot at the deadline even when the operation never settles', async () => {
    const runner = new CheckRunner({ registry: registry(), concurrency: 1, log, graceMs: 20 });
    expect((await runner.run(envCheck('stuck', 'hang', 1000, 100))).code).toBe('CHECK_TIMEOUT');
    expect((await runner.run(envCheck('other', 'x', 1000, 500))).status).toBe('ok');
  });

  it('reports CHECK_MISCONFIGURED for a kind missing from the registry', async () => {
    const runner = new CheckRunner({ registry: {}, concurrency: 1, log });
    expect(await runner.run(envCheck('e', 'x'))).toMatchObject({ status: 'unknown', code: 'CHECK_MISCONFIGURED' });
  });
  it('loads a kind from the check registry on its first run, once for concurrent runs, and keeps it', async () => {
    let loads = 0;
    const runner = new CheckRunner({ registry: { env: () => (loads++, CHECKS.env()) }, concurrency: 4, log, env: { PRESENT: '1' } });
    const first = await Promise.all([runner.run(envCheck('a', 'PRESENT')), runner.run(envCheck('b', 'PRESENT'))]);
    const later = await runner.run(envCheck('a', 'MISSING'));
    expect(first.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(later).toMatchObject({ status: 'fail', code: 'ENV_MISSING' });
    expect(loads).toBe(1);
  });

  it('reports CHECK_ERROR when a kind fails to load and retries the load on the next run', async () => {
    let loads = 0;
    const runner = new CheckRunner({
      registry: { env: () => (++loads === 1 ? Promise.reject(new Error('module missing')) : CHECKS.env()) },
      concurrency: 4,
      log,
      env: { PRESENT: '1' },
    });
    expect(await runner.run(envCheck('a', 'PRESENT'))).toMatchObject({ status: 'unknown', code: 'CHECK_ERROR', message: 'loading check kind "env": module missing' });
    expect(await runner.run(envCheck('a', 'PRESENT'))).toMatchObject({ status: 'ok' });
    expect(loads).toBe(2);
  });
});
