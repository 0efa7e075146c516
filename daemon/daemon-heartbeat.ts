import { randomUuid } from '../src/agent/random-bytes.ts';
import { CollectorUnavailableError, type CollectorClient } from '../src/agent/collector-client.ts';
import type { Logger } from '../src/log/logger.ts';
import { API_VERSION } from '../src/protocol/common.ts';
import { HeartbeatAck, type AgentState, type Heartbeat, type Instance } from '../src/protocol/heartbeat.ts';
import { parseWith } from '../src/protocol/parse.ts';

export interface DaemonHeartbeatOptions {
  client: CollectorClient;
  log: Logger;
  instance: Instance;
  agent: () => AgentState;
  intervalMs: () => number;
  /** True when the worker cannot beat (down, crashloop, breaker open, updating without a worker). */
  needed: () => boolean;
  onAck: (ack: HeartbeatAck) => void;
}

/**
 * The daemon's own minimal heartbeat (`source: 'daemon'`, no checks), sent whenever the worker cannot, so the
 * collector can tell "probe broken" (beats with worker: crashloop) from "pod gone" (no beats at all). It has its
 * own boot id and sequence; it is not spooled (a stale "worker down" has no value once the worker is back).
 */
export class DaemonHeartbeat {
  readonly #opts: DaemonHeartbeatOptions;
  readonly bootId = randomUuid();
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #dropped = 0;
  lastSentAt: number | undefined;

  constructor(opts: DaemonHeartbeatOptions) {
    this.#opts = opts;
  }

  start(): void {
    const loop = (): void => {
      this.#timer = setTimeout(() => {
        void (this.#opts.needed() ? this.send() : Promise.resolve()).finally(loop);
      }, this.#opts.intervalMs());
    };
    loop();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  /** Builds and posts one heartbeat now; never throws. */
  async send(): Promise<boolean> {
    const hb: Heartbeat = {
      apiVersion: API_VERSION,
      source: 'daemon',
      instance: this.#opts.instance,
      agent: this.#opts.agent(),
      bootId: this.bootId,
      seq: this.#seq++,
      sentAt: new Date().toISOString(),
      intervalMs: this.#opts.intervalMs(),
      dropped: this.#dropped,
      checks: [],
    };
    try {
      const res = await this.#opts.client.request({ method: 'POST', path: '/v1/heartbeats', body: hb });
      if (res.status >= 300) {
        this.#dropped++;
        this.#opts.log.warn({ status: res.status, body: res.body.toString('utf8').slice(0, 300) }, 'collector refused the daemon heartbeat');
        return false;
      }
      this.lastSentAt = Date.now();
      try {
        const ack = parseWith(HeartbeatAck, res.json(), { what: 'heartbeat ack' });
        if (ack.ok) this.#opts.onAck(ack.value);
      } catch {
        // An ack without a body still means delivered.
      }
      return true;
    } catch (err) {
      this.#dropped++;
      if (!(err instanceof CollectorUnavailableError)) this.#opts.log.warn({ err }, 'daemon heartbeat failed');
      return false;
    }
  }
}
