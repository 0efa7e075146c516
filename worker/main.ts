import { CHECKS } from '../checks/registry.ts';
import { capYoungGeneration } from '../src/agent/cap-young-generation.ts';
import type { DaemonToWorker, WorkerToDaemon } from '../src/ipc.ts';
import { runProgram, VERSION } from '../src/program.ts';
import { ms } from '../src/units.ts';
import { WORKER_ENV_MAP, WorkerConfig } from './config.ts';
import { ProbeWorker } from './probe-worker.ts';

// A 1 MB nursery is plenty for a probe (src/agent/cap-young-generation.ts); docs/worker-footprint.md lists the
// flags the daemon passes when it forks the worker.
capYoungGeneration();

/** How long a worker under the daemon waits for the daemon's config before running the local file's. */
const IPC_CONFIG_WAIT_MS = 2000;

await runProgram(
  {
    name: 'podpulse-worker',
    summary: 'runs dependency checks and pushes heartbeats',
    schema: WorkerConfig,
    envMap: WORKER_ENV_MAP,
    logLevel: (c) => c.log.level,
  },
  async ({ config, log }) => {
    const ipc = typeof process.send === 'function';
    const send = ipc
      ? (msg: WorkerToDaemon): void => {
          if (process.connected) process.send!(msg);
        }
      : undefined;
    // Under the daemon its config wins; the local file is only the fallback if none comes within this wait.
    const worker = new ProbeWorker({ config, registry: CHECKS, log, version: VERSION, send, ipcConfigWaitMs: ipc ? IPC_CONFIG_WAIT_MS : 0 });

    let stopping = false;
    const stop = async (graceMs: number, why: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info({ why, graceMs }, 'stopping: flushing heartbeats');
      const { flushed, remaining } = await worker.stop(graceMs);
      log.info({ flushed, remaining }, 'stopped');
      await new Promise<void>((resolve) => {
        if (ipc && process.connected) process.send!({ type: 'stopped', flushed, remaining } satisfies WorkerToDaemon, () => resolve());
        else resolve();
      });
      if (ipc && process.connected) process.disconnect();
      // A check operation stuck in the libuv threadpool (open or stat on a hung NFS mount, a FIFO) never returns,
      // and a normal exit joins the threadpool threads, so it would wait forever. Everything is flushed by now;
      // give settling operations a moment, then leave by SIGKILL if any are still stuck.
      for (let i = 0; i < 10 && worker.outstanding > 0; i++) await new Promise((r) => setTimeout(r, 20));
      if (worker.outstanding > 0) {
        log.warn({ outstanding: worker.outstanding }, 'check operations are hung in the threadpool; exiting with SIGKILL');
        process.kill(process.pid, 'SIGKILL');
      }
      process.exit(0);
    };

    if (ipc) {
      process.on('message', (msg: DaemonToWorker) => {
        if (msg.type === 'config') worker.applyConfig(msg.config);
        else if (msg.type === 'agent-state') worker.setAgent(msg.agent);
        else if (msg.type === 'stop') void stop(msg.graceMs, 'stop requested by the daemon');
      });
      // The daemon is gone: nobody supervises us any more, so stop rather than run on as an orphan.
      process.on('disconnect', () => void stop(ms(config.stopGrace), 'IPC channel disconnected'));
    }
    process.on('SIGTERM', () => void stop(ms(config.stopGrace), 'SIGTERM'));
    process.on('SIGINT', () => void stop(ms(config.stopGrace), 'SIGINT'));

    await worker.start();
    log.info({ bootId: worker.builder.bootId, version: VERSION, ipc }, 'worker running');
  },
);
