import type { Logger } from '../../../src/log/logger.ts';
import { sleep } from './backoff.ts';
import { KubeApiError, type KubeClient } from './kube-client.ts';

export interface LeaderElectorOptions {
  client: KubeClient;
  log: Logger;
  namespace: string;
  /** The Lease's name, shared by every replica. */
  name: string;
  /** This replica's identity (pod name, hostname+pid). */
  identity: string;
  /** How long a lease holds without renewal; others wait this long after the last change they observed. */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long steps down (must be < leaseDuration). */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. */
  retryPeriodMs?: number;
  onStartedLeading?: () => void | Promise<void>;
  onStoppedLeading?: () => void | Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** MicroTime as the API serialises it: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it: a replica takes the lease when it
 * is free or when the holder has not changed it for `leaseDuration` by the replica's own clock (clocks of
 * different machines are never compared); the holder renews every `retryPeriod` and steps down when it could
 * not renew for `renewDeadline`. Every write carries the resourceVersion read, so two replicas racing for the
 * lease cannot both win (409 Conflict for the loser).
 */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading'>> & LeaderElectorOptions;
  readonly #log: Logger;
  readonly #path: string;
  readonly #abort = new AbortController();
  #leading = false;
  #observed: { record: string; at: number } | undefined;
  #lease: Lease | undefined;
  #running: Promise<void> | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs) throw new Error('leader election: renewDeadlineMs must be less than leaseDurationMs');
    if (this.#o.retryPeriodMs >= this.#o.renewDeadlineMs) throw new Error('leader election: retryPeriodMs must be less than renewDeadlineMs');
    this.#log = opts.log.child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases`;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** Starts campaigning in the background. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops; a leader releases the lease (empty holder) so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    if (this.#leading) {
      await this.#release();
      await this.#setLeading(false);
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let lastRenew = 0;
    while (!signal.aborted) {
      const ok = await this.#tryAcquireOrRenew();
      const now = Date.now();
      if (ok) {
        lastRenew = now;
        if (!this.#leading) await this.#setLeading(true);
      } else if (this.#leading && now - lastRenew >= this.#o.renewDeadlineMs) {
        this.#log.warn('could not renew the lease within the renew deadline; stepping down');
        await this.#setLeading(false);
      }
      // Followers jitter their attempts so that replicas do not hit the apiserver in step.
      const wait = this.#leading ? this.#o.retryPeriodMs : this.#o.retryPeriodMs * (1 + Math.random() * 0.2);
      await sleep(wait, signal);
    }
  }

  async #setLeading(leading: boolean): Promise<void> {
    this.#leading = leading;
    this.#log.info(leading ? 'started leading' : 'stopped leading');
    try {
      await (leading ? this.#o.onStartedLeading?.() : this.#o.onStoppedLeading?.());
    } catch (e) {
      this.#log.error({ err: e }, 'leader election callback failed');
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, name, namespace, identity } = this.#o;
    const now = Date.now();
    const durationS = Math.ceil(this.#o.leaseDurationMs / 1000);
    // One attempt may take at most the renew deadline, so a hung apiserver cannot keep a leader from stepping down.
    const timeoutMs = this.#o.renewDeadlineMs;
    let lease: Lease;
    try {
      lease = await client.request<Lease>('GET', `${this.#path}/${encodeURIComponent(name)}`, { timeoutMs });
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) {
        this.#log.warn({ err: e }, 'could not read the lease');
        return false;
      }
      const fresh: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        this.#lease = await client.request<Lease>('POST', this.#path, { body: fresh, timeoutMs });
        this.#observe(this.#lease, now);
        return true;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 409)) this.#log.warn({ err }, 'could not create the lease');
        return false;
      }
    }
    const spec = lease.spec ?? {};
    this.#observe(lease, now);
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? durationS) * 1000;
    if (heldByOther && this.#observed && this.#observed.at + durationMs > now) return false;
    const mine = holder === identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationS,
        renewTime: microTime(now),
        acquireTime: mine ? (spec.acquireTime ?? microTime(now)) : microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.#lease = await client.request<Lease>('PUT', `${this.#path}/${encodeURIComponent(name)}`, { body: next, timeoutMs });
      this.#observe(this.#lease, now);
      return true;
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 409)) this.#log.warn({ err: e }, 'could not update the lease');
      return false;
    }
  }

  /** Remembers when the lease record last changed, by this replica's clock. */
  #observe(lease: Lease, now: number): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (this.#observed?.record !== record) this.#observed = { record, at: now };
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    if (!lease) return;
    const released: Lease = {
      ...lease,
      spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: null, renewTime: microTime(Date.now()) },
    };
    try {
      await this.#o.client.request<Lease>('PUT', `${this.#path}/${encodeURIComponent(this.#o.name)}`, { body: released });
    } catch (e) {
      this.#log.warn({ err: e }, 'could not release the lease; others take over when it expires');
    }
  }
}
