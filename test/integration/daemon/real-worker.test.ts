import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHeartbeatPayload } from '../../../src/protocol/parse.ts';
import { CollectorDouble, type Json } from '../../helpers/collector-double.ts';
import { alive, ROOT, startDaemon, testConfig, type DaemonRun } from '../../helpers/daemon-harness.ts';

const pkgVersion = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let collector: CollectorDouble | undefined;
let daemon: DaemonRun | undefined;

afterEach(async () => {
  await daemon?.kill();
  await collector?.close();
});

describe('daemon with the real worker (dist/worker.mjs)', () => {
  it('supervises the built worker: valid heartbeats carrying the daemon state, then a clean stop on SIGTERM', async () => {
    collector = await new CollectorDouble().listen();
    collector.config = {
      apiVersion: 'podpulse.io/v1',
      revision: 'real-1',
      heartbeat: { interval: '1s' },
      checks: [{ id: 'self-tcp', kind: 'tcp', spec: { host: '127.0.0.1', port: Number(new URL(collector.url).port) } }],
    };
    daemon = startDaemon(testConfig(collector.url, { worker: { bakedPath: join(ROOT, 'dist/worker.mjs'), bakedVersion: pkgVersion, readyDeadline: '20s' } }));
    const beat = await collector.waitFor(() => collector!.workerBeats().find((b) => b.body.agent?.configRevision === 'real-1' && b.body.checks?.length > 0), 60_000, 'a worker heartbeat on the collector config');
    const parsed = parseHeartbeatPayload(beat.body);
    expect(parsed.ok ? 'valid' : parsed.error.message).toBe('valid');
    expect(beat.body.agent).toMatchObject({ breaker: 'closed', worker: 'running', workerVersion: pkgVersion });
    const status = JSON.parse(readFileSync(join(daemon.stateDir, 'status.json'), 'utf8')) as Json;
    const workerPid = status.workerPid as number;
    expect(alive(workerPid)).toBe(true);
    daemon.proc.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
    expect(alive(workerPid)).toBe(false);
  });
});
