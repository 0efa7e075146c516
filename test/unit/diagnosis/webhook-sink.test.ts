import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBook } from '../../../collector/events/event-lifecycle.ts';
import { verifySignature } from '../../../collector/events/webhook-signature.ts';
import { WebhookSink } from '../../../collector/events/webhook-sink.ts';
import type { DiagnosisEvent } from '../../../src/protocol/index.ts';
import { T0, uid } from './driver.ts';

const SECRET = 'test-secret';

interface Received {
  body: string;
  headers: IncomingMessage['headers'];
}

/** A real receiver on 127.0.0.1:0; `answer` decides each response by arrival order (0-based). */
async function receiver(answer: (n: number, res: ServerResponse) => void): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      answer(got.length - 1, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

function event(n = 1): DiagnosisEvent {
  const book = new EventBook({ source: '/test', updateMinIntervalMs: 0 });
  book.set({ type: 'check-failing', groupKey: `k${n}`, severity: 'critical', summary: `problem ${n}`, evidence: [], instances: [uid(n)] }, 'firing', T0);
  return book.take()[0]!;
}

const open: { server: Server; sink: WebhookSink }[] = [];
afterEach(async () => {
  for (const { server, sink } of open.splice(0)) {
    await sink.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function setup(answer: (n: number, res: ServerResponse) => void, opts: Partial<ConstructorParameters<typeof WebhookSink>[0]> = {}) {
  const r = await receiver(answer);
  const sink = new WebhookSink({ url: r.url, secret: SECRET, baseDelayMs: 20, maxDelayMs: 200, random: () => 0.5, ...opts });
  open.push({ server: r.server, sink });
  return { ...r, sink };
}

describe('webhook sink', () => {
  it('POSTs the event JSON with an HMAC-SHA256 signature over the raw body that the receiver can verify', async () => {
    const { sink, got } = await setup((_n, res) => res.writeHead(204).end());
    const e = event();
    sink.enqueue(e);
    await sink.drained();
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body)).toEqual(e);
    expect(got[0]!.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(verifySignature(SECRET, got[0]!.body, got[0]!.headers['x-podpulse-signature'] as string)).toBe(true);
    expect(verifySignature('other-secret', got[0]!.body, got[0]!.headers['x-podpulse-signature'] as string)).toBe(false);
    expect(verifySignature(SECRET, got[0]!.body.replace('problem', 'Problem'), got[0]!.headers['x-podpulse-signature'] as string)).toBe(false);
    expect(sink.stats).toEqual({ delivered: 1, retries: 0, dropped: 0 });
  });

  it('retries after a 500 and delivers the same bytes once more (at-least-once), in order', async () => {
    const { sink, got } = await setup((n, res) => res.writeHead(n === 0 ? 500 : 200).end());
    sink.enqueue(event(1));
    sink.enqueue(event(2));
    await sink.drained();
    expect(got.map((g) => (JSON.parse(g.body) as DiagnosisEvent).data.summary)).toEqual(['problem 1', 'problem 1', 'problem 2']);
    expect(got[1]!.body).toBe(got[0]!.body);
    expect(got[1]!.headers['x-podpulse-signature']).toBe(got[0]!.headers['x-podpulse-signature']);
    expect(sink.stats).toEqual({ delivered: 2, retries: 1, dropped: 0 });
  });

  it('times out a receiver that never answers, and retries until it does', async () => {
    const reasons: string[] = [];
    const { sink, got } = await setup(
      (n, res) => {
        if (n > 0) res.writeHead(200).end();
        // n === 0: hang, never answer
      },
      { timeoutMs: 300, onRetry: (_e, _a, reason) => reasons.push(reason) },
    );
    sink.enqueue(event());
    await sink.drained();
    expect(got).toHaveLength(2);
    expect(reasons).toEqual(['no answer within 300 ms']);
    expect(sink.stats.delivered).toBe(1);
  });

  it('drops an event the receiver refuses for good (4xx) and moves on', async () => {
    const dropped: string[] = [];
    const { sink, got } = await setup((n, res) => res.writeHead(n === 0 ? 400 : 200).end(), { onDrop: (_e, r) => dropped.push(r) });
    sink.enqueue(event(1));
    sink.enqueue(event(2));
    await sink.drained();
    expect(got).toHaveLength(2);
    expect(dropped).toEqual(['HTTP 400']);
  });

  it('backs off exponentially with jitter on a refused connection, and gives up after maxAttempts', async () => {
    const { server, url } = await receiver((_n, res) => res.writeHead(200).end());
    await new Promise((resolve) => server.close(resolve));
    const delays: number[] = [];
    const dropped: string[] = [];
    // random() = 1 takes the top of each jitter range: the full exponential delay, capped at maxDelayMs.
    const sink = new WebhookSink({ url, secret: SECRET, baseDelayMs: 10, maxDelayMs: 40, maxAttempts: 5, random: () => 1, onRetry: (_e, _a, _r, d) => delays.push(d), onDrop: (_e, r) => dropped.push(r) });
    open.push({ server, sink });
    sink.enqueue(event());
    await sink.drained();
    expect(delays).toEqual([10, 20, 40, 40]);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatch(/^gave up after 5 attempts: .*ECONNREFUSED/);
  });

  it('refuses events beyond the queue limit and hands back undelivered events on close', async () => {
    const { sink } = await setup((_n, _res) => undefined, { queueLimit: 2, timeoutMs: 60_000 });
    expect(sink.enqueue(event(1))).toBe(true);
    expect(sink.enqueue(event(2))).toBe(true);
    expect(sink.enqueue(event(3))).toBe(false);
    const left = await sink.close();
    expect(left.map((e) => e.data.summary)).toEqual(['problem 1', 'problem 2']);
  });
});
