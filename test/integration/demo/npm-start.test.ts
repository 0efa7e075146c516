import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, ROOT } from '../../helpers/daemon-harness.ts';

interface EventsPage {
  items: { type: string; status: string; body: { data?: unknown } }[];
}

/** The command line `npm start` runs (after its prestart build), taken from package.json so the two cannot drift. */
function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const argv = pkg.scripts.start!.split(/\s+/);
  expect(argv[0]).toBe('node');
  return argv.slice(1);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('npm start: collector + local sidecar demo', () => {
  it('shows the failing dependency as a check with its reason code and as an event, then stops cleanly on Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-demo-'));
    const proc = spawn(process.execPath, [...startCommand(), '--port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PODPULSE_STORE_PATH: join(dir, 'podpulse.db') },
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    try {
      const url = await until('the banner', 30_000, () => Promise.resolve(/collector\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]));
      expect(out).toContain('curl -s');

      // The instance and its failing check, through the operator API (open in demo mode).
      const uid = /api\/v1\/instances\/([0-9a-f-]{36})/.exec(out)![1]!;
      const instance = await until('the failing instance', 60_000, async () => {
        const r = await fetch(`${url}/api/v1/instances/${uid}`);
        if (r.status !== 200) return undefined;
        const body = (await r.json()) as { status: string; checks: { id: string; status: string; code: string }[] };
        return body.status === 'failing' ? body : undefined;
      });
      const payments = instance.checks.find((c) => c.id === 'payments-api');
      expect(payments).toMatchObject({ status: 'fail', code: 'HTTP_STATUS' });
      expect(instance.checks.find((c) => c.id === 'orders-api')).toMatchObject({ status: 'ok' });

      // The event a person should read, naming the dependency.
      const event = await until('a firing event', 90_000, async () => {
        const r = await fetch(`${url}/api/v1/events?status=firing`);
        const page = (await r.json()) as EventsPage;
        return page.items.find((e) => JSON.stringify(e).includes('payments-api'));
      });
      expect(event.status).toBe('firing');
      // The console tells the newcomer too (it polls the store once a second).
      await until('the event on the console', 10_000, () => Promise.resolve(/event firing/.test(out) ? true : undefined));

      // Ctrl-C: everything stops, the sidecar included.
      const sidecarLog = /log (\S+sidecar\.log)/.exec(out)![1]!;
      proc.kill('SIGINT');
      expect(await exited).toBe(0);
      const pids = new Set([...readFileSync(sidecarLog, 'utf8').matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1])));
      expect(pids.size).toBeGreaterThanOrEqual(2); // the daemon and its worker
      for (const pid of pids) expect(alive(pid)).toBe(false);
    } finally {
      if (proc.exitCode === null) {
        // A failed run must not leave its sidecar behind: a SIGKILLed collector cannot stop the daemon it started.
        proc.kill('SIGKILL');
        const log = /log (\S+sidecar\.log)/.exec(out)?.[1];
        const pids = log ? [...readFileSync(log, 'utf8').matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1])) : [];
        for (const pid of new Set(pids)) if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
  }, 180_000);
});
