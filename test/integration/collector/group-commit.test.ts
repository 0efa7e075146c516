import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommitter, QueueFullError } from '../../../collector/ingest/group-committer.ts';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import type { IngestOutcome } from '../../../collector/store/store.ts';
import { createLogger } from '../../../src/log/logger.ts';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';
import { beat } from '../../helpers/heartbeats.ts';

const log = createLogger({ name: 'test', level: 'silent' });

/** A real SQLite store whose commits can be held back, to observe what waits and what batches form. */
class GatedStore {
  readonly inner: SqliteStore;
  readonly calls: number[] = [];
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  failNext = false;

  constructor(inner: SqliteStore) {
    this.inner = inner;
  }
  hold(): void {
    this.#gate = new Promise((r) => (this.#open = r));
  }
  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }
  async ingest(hbs: readonly Heartbeat[], at: number): Promise<IngestOutcome[]> {
    this.calls.push(hbs.length);
    if (this.#gate) await this.#gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return this.inner.ingest(hbs, at);
  }
}

describe('group commit', () => {
  let store: SqliteStore;
  let gated: GatedStore;
  beforeEach(async () => {
    store = new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'podpulse-gc-')), 'db.sqlite') });
    await store.migrate();
    gated = new GatedStore(store);
  });
  afterEach(() => store.close());

  it('writes heartbeats of concurrent requests in one transaction and resolves each after the commit', async () => {
    const gc = new GroupCommitter({ store: gated, lingerMs: 10, log });
    const beats = Array.from({ length: 50 }, (_, i) => beat({ seq: i }));
    const results = await Promise.all(beats.map(async (hb) => {
      const out = await gc.submit([hb]);
      // At resolution time the row is already readable: the promise settles after the commit, not before.
      return { out, stored: await store.getInstance(hb.instance.podUid) };
    }));
    expect(gated.calls).toEqual([50]);
    expect(results.every((r) => r.out[0]?.duplicate === false && r.stored !== undefined)).toBe(true);
  });

  it('by default commits at once, in the turn the requests arrived, with every request submitted in that turn', async () => {
    const gc = new GroupCommitter({ store: gated, log });
    const first = Array.from({ length: 20 }, () => gc.submit([beat()]));
    // The committer's setImmediate was queued before this one: no timer stands between a request and its commit.
    await new Promise((r) => setImmediate(r));
    expect(gated.calls).toEqual([20]);
    await Promise.all(first);
    await gc.submit([beat()]);
    expect(gated.calls).toEqual([20, 1]);
  });

  it('gathers the next batch while a transaction runs', async () => {
    const gc = new GroupCommitter({ store: gated, lingerMs: 0, log });
    gated.hold();
    const first = gc.submit([beat()]);
    await new Promise((r) => setTimeout(r, 20));
    const rest = Array.from({ length: 30 }, () => gc.submit([beat()]));
    expect(gc.depth).toBe(30);
    gated.release();
    await Promise.all([first, ...rest]);
    expect(gated.calls).toEqual([1, 30]);
  });

  it('refuses with QueueFullError when the queue is full, and commits what it queued', async () => {
    const gc = new GroupCommitter({ store: gated, lingerMs: 0, maxQueuedRows: 10, log });
    gated.hold();
    const inFlight = gc.submit([beat()]);
    await new Promise((r) => setTimeout(r, 20));
    const queued = Array.from({ length: 10 }, () => gc.submit([beat()]));
    await expect(gc.submit([beat()])).rejects.toBeInstanceOf(QueueFullError);
    gated.release();
    await expect(Promise.all([inFlight, ...queued])).resolves.toHaveLength(11);
    await expect(gc.submit([beat()])).resolves.toHaveLength(1);
  });

  it('rejects every request of a batch whose commit failed, and stores none of it', async () => {
    const gc = new GroupCommitter({ store: gated, lingerMs: 5, log });
    gated.failNext = true;
    const beats = [beat(), beat()];
    const settled = await Promise.allSettled(beats.map((hb) => gc.submit([hb])));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    for (const hb of beats) expect(await store.getInstance(hb.instance.podUid)).toBeUndefined();
  });

  it('splits a large backlog into transactions of about maxBatchRows without splitting a request', async () => {
    const gc = new GroupCommitter({ store: gated, lingerMs: 0, maxBatchRows: 10, log });
    gated.hold();
    const first = gc.submit([beat()]);
    await new Promise((r) => setTimeout(r, 20));
    const rest = [gc.submit(Array.from({ length: 7 }, (_, i) => beat({ seq: i }))), gc.submit(Array.from({ length: 7 }, (_, i) => beat({ seq: i }))), gc.submit([beat()])];
    gated.release();
    await Promise.all([first, ...rest]);
    expect(gated.calls).toEqual([1, 14, 1]);
  });

  it('drains the queue on close and refuses new work afterwards', async () => {
    const gc = new GroupCommitter({ store: gated, lingerMs: 25, log });
    const p = gc.submit([beat()]);
    await gc.close();
    await expect(p).resolves.toHaveLength(1);
    await expect(gc.submit([beat()])).rejects.toBeInstanceOf(QueueFullError);
  });

  it('calls onCommitted after the requests of its batch are answered, before the next batch commits, and close waits for it', async () => {
    const order: string[] = [];
    const gc = new GroupCommitter({
      store: gated,
      lingerMs: 0,
      log,
      onCommitted: (hbs) => order.push(`hook ${hbs.length}`),
    });
    gated.hold();
    const first = gc.submit([beat()]).then(() => order.push('answer 1'));
    await new Promise((r) => setTimeout(r, 5));
    const rest = [gc.submit([beat()]), gc.submit([beat()])].map((p) => p.then(() => order.push('answer 2')));
    gated.release();
    await Promise.all([first, ...rest]);
    await gc.close();
    expect(order).toEqual(['answer 1', 'hook 1', 'answer 2', 'answer 2', 'hook 2']);
  });
});
