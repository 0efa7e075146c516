import type { Logger } from '../../src/log/logger.ts';
import { renewMaterial, type RenewPolicy } from './renew-material.ts';
import type { TlsSecretStore } from './tls-secret-store.ts';
import { certFacts, type TlsMaterial } from './tls-material.ts';

export interface CertRotatorOptions {
  store: TlsSecretStore;
  policy: RenewPolicy;
  checkEveryMs: number;
  log: Logger;
  /** Called with new material to serve (the TLS server swaps its secure context; no restart). */
  onMaterial: (m: TlsMaterial) => void;
  /** Called after every successful check (the leader keeps the webhook's caBundle current). */
  afterSync?: (m: TlsMaterial) => Promise<void>;
  now?: () => number;
}

/**
 * Keeps the webhook's certificate valid: on each check it reads the shared Secret, renews what is expiring (see
 * renewMaterial), writes it back with optimistic concurrency, and hands new material to the server. A failed check
 * keeps serving the current certificate and tries again at the next tick.
 */
export class CertRotator {
  readonly #o: CertRotatorOptions;
  #current: TlsMaterial | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(o: CertRotatorOptions) {
    this.#o = o;
  }

  get current(): TlsMaterial | undefined {
    return this.#current;
  }

  /** One check; resolves with the material being served. */
  async sync(): Promise<TlsMaterial> {
    const now = (this.#o.now ?? Date.now)();
    for (let attempt = 0; attempt < 5; attempt++) {
      const { material, version } = await this.#o.store.read();
      const r = await renewMaterial(material, now, this.#o.policy);
      if (r.why) {
        if ((await this.#o.store.write(r.material, version)) === 'conflict') continue;
        const f = certFacts(r.material.cert);
        this.#o.log.info({ why: r.why, serial: f.serial, notAfter: new Date(f.notAfter).toISOString() }, 'webhook certificate renewed');
      }
      if (r.material.cert !== this.#current?.cert || r.material.caBundle !== this.#current.caBundle) {
        this.#current = r.material;
        this.#o.onMaterial(r.material);
      }
      await this.#o.afterSync?.(r.material);
      return r.material;
    }
    throw new Error('the webhook TLS Secret changed under every write; will try again');
  }

  /**
   * The first check, then one every checkEvery. The first must succeed (there is nothing to serve without it); it is
   * tried a few times, so an apiserver that is briefly unreachable during a rollout does not fail the collector.
   */
  async start(attempts = 5, retryDelayMs = 2000): Promise<TlsMaterial> {
    let m: TlsMaterial | undefined;
    for (let i = 1; !m; i++) {
      try {
        m = await this.sync();
      } catch (err) {
        if (i >= attempts) throw err;
        this.#o.log.warn({ err, attempt: i }, 'webhook certificate not available yet; retrying');
        await new Promise((r) => setTimeout(r, retryDelayMs));
      }
    }
    this.#timer = setInterval(() => {
      this.#running = this.sync().catch((err: unknown) => this.#o.log.warn({ err }, 'webhook certificate check failed; serving the current certificate'));
    }, this.#o.checkEveryMs);
    this.#timer.unref();
    return m;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
