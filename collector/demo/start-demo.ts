import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../src/log/logger.ts';
import type { AgentConfigInput } from '../../src/protocol/agent-config.ts';
import type { CollectorConfig } from '../config.ts';
import { startCollector, type RunningCollector } from '../start-collector.ts';
import { demoAgentConfig } from './demo-agent-config.ts';
import { startDemoTargets } from './demo-targets.ts';
import { watchDemo } from './watch-demo.ts';

/** The demo pod's identity, as the injection webhook would give it through the downward API. */
export const DEMO_POD = {
  POD_NAME: 'checkout-7d9f8c6b5-x2x9z',
  POD_NAMESPACE: 'demo',
  POD_UID: '6f1c2a4e-0b7d-4c55-9a8e-3d2f1b0c9e71',
  PODPULSE_APP: 'checkout',
  PODPULSE_TENANT: 'demo-team',
  NODE_NAME: 'local-node',
  POD_IP: '127.0.0.1',
} as const;

async function publishGlobalConfig(url: string, config: AgentConfigInput): Promise<void> {
  const { apiVersion: _v, revision: _r, ...document } = config;
  const res = await fetch(`${url}/api/v1/config/scopes/global`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ document, message: 'npm start: demo checks' }),
  });
  if (!res.ok) throw new Error(`the config center refused the demo checks: ${res.status} ${await res.text()}`);
}

export interface RunningDemo {
  collector: RunningCollector;
  close(): Promise<void>;
}

/** The sidecar daemon bundle sits next to the collector bundle in dist/. */
function daemonEntry(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'daemon.mjs');
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill('SIGTERM');
  });
}

/**
 * `npm start`: the collector on the embedded SQLite store, two local HTTP dependencies (one failing on purpose) and
 * a real sidecar (dist/daemon.mjs, which runs dist/worker.mjs) probing them, so that within a minute there are
 * heartbeats, an instance with its checks, a failing check with its reason code and an event to look at.
 */
export async function startDemo(config: CollectorConfig, log: Logger, out: NodeJS.WritableStream = process.stdout): Promise<RunningDemo> {
  const demoDir = resolve(dirname(config.store.path), 'demo');
  const stateDir = join(demoDir, 'state');
  mkdirSync(stateDir, { recursive: true });

  const collector = await startCollector(config, log);
  const targets = await startDemoTargets();
  const port = Number(new URL(collector.url).port);
  const local = `http://127.0.0.1:${port}`;

  // The checks go through the config center, as an operator would set them (`podpulse config set global ...`);
  // the sidecar fetches them from the collector. Target ports change with every start, so this writes a revision.
  const agentConfig = demoAgentConfig(targets, port, stateDir);
  await publishGlobalConfig(local, agentConfig);

  const daemonConfig = join(demoDir, 'daemon.json');
  writeFileSync(
    daemonConfig,
    JSON.stringify(
      {
        collector: { url: local, timeout: '5s' },
        stateDir,
        config: { pollInterval: '10s', default: agentConfig },
        health: { statusInterval: '5s' },
      },
      null,
      2,
    ),
  );
  const sidecarLog = join(demoDir, 'sidecar.log');
  const logFile = createWriteStream(sidecarLog, { flags: 'a' });
  const daemon = spawn(process.execPath, [daemonEntry(), '--config', daemonConfig], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...DEMO_POD, PODPULSE_LOG_LEVEL: 'info' },
  });
  daemon.stdout.pipe(logFile, { end: false });
  daemon.stderr.pipe(logFile, { end: false });
  daemon.once('exit', (code, signal) => {
    if (!closing) log.error({ code, signal, log: sidecarLog }, 'the demo sidecar exited; see its log');
  });

  out.write(
    [
      '',
      'podpulse demo is running',
      `  collector       ${local}  (store: ${resolve(config.store.path)})`,
      `  sidecar         pod ${DEMO_POD.POD_NAMESPACE}/${DEMO_POD.POD_NAME}, log ${sidecarLog}`,
      `  dependencies    orders-api ${targets.ordersUrl} (healthy), payments-api ${targets.paymentsUrl} (fails on purpose)`,
      '',
      'Try:',
      `  curl -s ${local}/api/v1/instances`,
      `  curl -s ${local}/api/v1/instances/${DEMO_POD.POD_UID}`,
      `  curl -s '${local}/api/v1/events?status=firing'`,
      `  curl -s ${local}/metrics | grep podpulse_`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  const watcher = watchDemo(collector.store, DEMO_POD.POD_UID, out);

  let closing: Promise<void> | undefined;
  return {
    collector,
    close: () =>
      (closing ??= (async () => {
        watcher.stop();
        await stopChild(daemon, 25_000);
        logFile.end();
        await targets.close();
        await collector.close();
      })()),
  };
}
