import { loadConfig } from '../src/config/load-config.ts';
import { printError, runProgram } from '../src/program.ts';
import { DAEMON_ENV_MAP, DaemonConfig } from './config.ts';
import { Daemon } from './daemon.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { readHealth } from './health-check.ts';
import { capYoungGeneration } from '../src/agent/cap-young-generation.ts';

// `podpulse-daemon health --state-dir DIR [--max-age 30]`: exit 0 when the daemon's status file is fresh and it is
// running, 1 otherwise. It opens no port, so it suits an exec liveness probe.
if (process.argv[2] === 'health') {
  let values: { 'state-dir'?: string; 'max-age'?: string };
  try {
    // Taken here, not imported: the bundle's import of node:util would load worker_threads and more at every start
    // (src/program.ts).
    const { parseArgs } = process.getBuiltinModule('node:util');
    ({ values } = parseArgs({ args: process.argv.slice(3), options: { 'state-dir': { type: 'string' }, 'max-age': { type: 'string' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`podpulse-daemon health: ${(err as Error).message}\nusage: podpulse-daemon health --state-dir DIR [--max-age SECONDS]\n`);
    process.exit(EXIT_CODES.usage);
  }
  const dir = values['state-dir'] ?? process.env.PODPULSE_STATE_DIR ?? '/var/lib/podpulse';
  const maxAge = Number(values['max-age'] ?? 30) * 1000;
  const h = await readHealth(dir, Number.isFinite(maxAge) && maxAge > 0 ? maxAge : 30_000);
  process.stdout.write(`${h.healthy ? 'healthy' : 'unhealthy'}: ${h.reason}\n`);
  process.exit(h.healthy ? 0 : 1);
}

// Keep V8's young generation at its initial 1 MB semi-space, as the worker does (docs/worker-footprint.md): the
// daemon allocates a few KB per sample and request, and a grown nursery only holds garbage between scavenges.
capYoungGeneration();

await runProgram(
  {
    name: 'podpulse-daemon',
    summary: "the sidecar's guardian process (supervises, updates and circuit-breaks the worker)",
    schema: DaemonConfig,
    envMap: DAEMON_ENV_MAP,
    logLevel: (c) => c.log.level,
  },
  async ({ config, log, configFile }) => {
    const daemon = new Daemon(config, log);
    let exiting = false;
    const shutdown = (signal: string, code: number): void => {
      if (exiting) return;
      exiting = true;
      log.info({ signal }, 'shutting down');
      daemon.stop().then(
        () => process.exit(code),
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          process.exit(code === 0 ? EXIT_CODES.internal : code);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM', EXIT_CODES.ok));
    process.on('SIGINT', () => shutdown('SIGINT', EXIT_CODES.ok));
    process.on('SIGHUP', async () => {
      try {
        daemon.setConfig(await loadConfig({ schema: DaemonConfig, what: 'podpulse-daemon config', file: configFile, envMap: DAEMON_ENV_MAP }));
      } catch (err) {
        log.error({ err: (err as Error).message }, 'SIGHUP: the local config is invalid; keeping the running one');
        printError('podpulse-daemon', err);
      }
    });
    daemon.onSelfLimit = (reason) => {
      log.fatal({ reason, exitCode: EXIT_CODES.selfLimit }, 'daemon over its own limits; exiting so the kubelet restarts the sidecar');
      shutdown('self-limit', EXIT_CODES.selfLimit);
    };
    // The daemon must not crash on a stray rejection; log it loudly instead (it is a bug to fix).
    process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
    await daemon.start();
  },
);
