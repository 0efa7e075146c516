import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../src/log/logger.ts';
import { writeFileAtomic } from './atomic-write.ts';

/** What `<stateDir>/status.json` holds; `node dist/daemon.mjs health` and the optional port read it. */
export interface DaemonStatus {
  updatedAt: string;
  daemonPid: number;
  daemon: 'running' | 'stopping';
  worker: string;
  workerPid?: number | undefined;
  workerVersion: string;
  breaker: string;
  breakerReason?: string | undefined;
  update?: unknown;
  configRevision: string;
  /** Why the newest config from the collector is refused, in full (heartbeats carry the brief `agent.configError`). */
  configError?: string | undefined;
  lastWorkerHeartbeatAt?: string | undefined;
  lastDaemonHeartbeatAt?: string | undefined;
  restarts: number;
  figures?: unknown;
}

export function statusFile(stateDir: string): string {
  return join(stateDir, 'status.json');
}

/**
 * Refreshes the status file every interval (atomically, so a reader never sees half of it). Its freshness is the
 * daemon's liveness: a daemon whose event loop is stuck stops refreshing it. The localhost port is opt-in.
 */
export class HealthReporter {
  readonly #stateDir: string;
  readonly #log: Logger;
  readonly #snapshot: () => DaemonStatus;
  #timer: NodeJS.Timeout | undefined;
  #server: Server | undefined;

  constructor(opts: { stateDir: string; log: Logger; snapshot: () => DaemonStatus }) {
    this.#stateDir = opts.stateDir;
    this.#log = opts.log;
    this.#snapshot = opts.snapshot;
  }

  start(intervalMs: number, port?: number): void {
    const tick = (): void => {
      void this.write().finally(() => {
        this.#timer = setTimeout(tick, intervalMs);
      });
    };
    tick();
    if (port !== undefined) {
      this.#server = createServer((req, res) => {
        const s = this.#snapshot();
        const ok = req.url === '/healthz' && s.daemon === 'running';
        res.writeHead(ok ? 200 : req.url === '/healthz' ? 503 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(s));
      });
      this.#server.on('error', (err) => this.#log.error({ err, port }, 'health port failed'));
      this.#server.listen(port, '127.0.0.1');
    }
  }

  async write(): Promise<void> {
    try {
      await writeFileAtomic(statusFile(this.#stateDir), JSON.stringify(this.#snapshot()));
    } catch (err) {
      this.#log.warn({ err }, 'cannot write the status file');
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
