import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import type { DiagnosisEvent } from '../../src/protocol/index.ts';
import { SIGNATURE_HEADER, signBody } from './webhook-signature.ts';

/** Settings of the generic webhook sink. */
export interface WebhookSinkOptions {
  url: string;
  /** Shared secret for the HMAC-SHA256 signature header. */
  secret: string;
  /** Per-request deadline, connection to last body byte. Default 10 s. */
  timeoutMs?: number;
  /** Events waiting for delivery; beyond it `enqueue` refuses (and counts a drop). Default 10,000. */
  queueLimit?: number;
  /** First retry delay; doubles per attempt up to maxDelayMs, with jitter. Defaults 500 ms and 60 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts per event before it is dropped; default unlimited (at-least-once while the process lives). */
  maxAttempts?: number;
  /** Jitter source in [0, 1); tests pass a fixed one. */
  random?: () => number;
  dispatcher?: Dispatcher;
  /** Called when an event is given up: a 4xx the receiver will never accept, attempts exhausted, or queue full. */
  onDrop?: (event: DiagnosisEvent, reason: string) => void;
  /** Called when an event was accepted with a 2xx. */
  onDelivered?: (event: DiagnosisEvent) => void;
  /** Called on each failed attempt that will be retried. */
  onRetry?: (event: DiagnosisEvent, attempt: number, reason: string, delayMs: number) => void;
}

interface Item {
  event: DiagnosisEvent;
  /** Serialized once: every retry sends the same bytes with the same signature. */
  body: string;
  attempts: number;
}

/** Outcome of one attempt: delivered, retry later, or never (the receiver refuses this event for good). */
type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string };

/**
 * Delivers diagnosis events as JSON to one URL, signed (`X-Podpulse-Signature: sha256=<hex>` over the raw body),
 * one at a time and in order, retrying with exponential backoff and jitter on network errors, timeouts, 408, 429
 * and 5xx. At-least-once: an event leaves the queue only after a 2xx (a receiver may see it twice and dedups on
 * the CloudEvents `id`). The queue is in memory and bounded; a durable outbox through the store comes with the
 * store integration, and `close()` hands back what was not delivered so the caller can persist it.
 */
export class WebhookSink {
  private readonly queue: Item[] = [];
  private readonly opts: Required<Omit<WebhookSinkOptions, 'dispatcher' | 'onDrop' | 'onRetry' | 'onDelivered'>> & Pick<WebhookSinkOptions, 'dispatcher' | 'onDrop' | 'onRetry' | 'onDelivered'>;
  private wake: (() => void) | undefined;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  readonly stats = { delivered: 0, retries: 0, dropped: 0 };

  constructor(options: WebhookSinkOptions) {
    this.opts = { timeoutMs: 10_000, queueLimit: 10_000, baseDelayMs: 500, maxDelayMs: 60_000, maxAttempts: Infinity, random: Math.random, ...options };
  }

  /** Queues an event; false (and onDrop) when the queue is full or the sink is closed. */
  enqueue(event: DiagnosisEvent): boolean {
    if (this.stop.signal.aborted || this.queue.length >= this.opts.queueLimit) {
      this.drop(event, this.stop.signal.aborted ? 'sink closed' : `queue full (${this.opts.queueLimit})`);
      return false;
    }
    this.queue.push({ event, body: JSON.stringify(event), attempts: 0 });
    this.loop ??= this.run();
    this.wake?.();
    return true;
  }

  /** Events waiting, including the one in flight. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once the queue is empty (or the sink closed); for tests and graceful shutdown. */
  async drained(pollMs = 20): Promise<void> {
    while (this.queue.length > 0 && !this.stop.signal.aborted) await sleep(pollMs);
  }

  /** Stops: aborts a backoff wait and an in-flight request, and returns the undelivered events. */
  async close(): Promise<DiagnosisEvent[]> {
    this.stop.abort();
    this.wake?.();
    await this.loop;
    return this.queue.splice(0).map((i) => i.event);
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      const item = this.queue[0];
      if (!item) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const result = await this.attempt(item);
      if (signal.aborted) break;
      item.attempts++;
      if (result.ok) {
        this.queue.shift();
        this.stats.delivered++;
        this.opts.onDelivered?.(item.event);
        continue;
      }
      if (!result.retry || item.attempts >= this.opts.maxAttempts) {
        this.queue.shift();
        this.drop(item.event, result.retry ? `gave up after ${item.attempts} attempts: ${result.reason}` : result.reason);
        continue;
      }
      const delay = this.backoff(item.attempts);
      this.stats.retries++;
      this.opts.onRetry?.(item.event, item.attempts, result.reason, delay);
      await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  private async attempt(item: Item): Promise<Attempt> {
    try {
      const res = await request(this.opts.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/cloudevents+json; charset=utf-8',
          'user-agent': 'podpulse-collector',
          [SIGNATURE_HEADER]: signBody(this.opts.secret, item.body),
          'x-podpulse-event-id': item.event.id,
        },
        body: item.body,
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.opts.timeoutMs)]),
        ...(this.opts.dispatcher ? { dispatcher: this.opts.dispatcher } : {}),
      });
      // Read (and discard) the body so the keep-alive connection is reusable.
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
      const retry = res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429;
      return { ok: false, retry, reason: `HTTP ${res.statusCode}` };
    } catch (err) {
      const e = err as Error;
      const reason = e.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : `${e.name}: ${e.message}`;
      return { ok: false, retry: true, reason };
    }
  }

  /** Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of many sinks spread. */
  private backoff(attempt: number): number {
    const exp = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(exp / 2 + (exp / 2) * this.opts.random());
  }

  private drop(event: DiagnosisEvent, reason: string): void {
    this.stats.dropped++;
    this.opts.onDrop?.(event, reason);
  }
}
