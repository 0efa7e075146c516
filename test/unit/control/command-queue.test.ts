import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../../collector/control/audit/audit-log.ts';
import { KIND_QUEUE, type InstanceRef } from '../../../collector/control/commands/command-records.ts';
import { CommandQueue, type PollingAgent } from '../../../collector/control/commands/command-queue.ts';
import { selectInstances } from '../../../collector/control/commands/select-instances.ts';
import type { InstanceQuery, Page, StoredInstance } from '../../../collector/store/store.ts';
import { createLogger } from '../../../src/log/logger.ts';
import type { CommandResult } from '../../../src/protocol/command.ts';
import { MemoryRecordStore } from '../../helpers/memory-record-store.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const operator = { name: 'oncall', role: 'operator' as const };

function inst(over: Partial<InstanceRef> = {}): InstanceRef {
  const podUid = over.podUid ?? randomUUID();
  return { podUid, namespace: 'shop', pod: `web-${podUid.slice(0, 5)}`, app: 'web', tenant: 't1', node: 'n1', ...over };
}
const agentOf = (i: InstanceRef, identity: PollingAgent['identity'] = { subject: 'static:test', namespace: i.namespace, app: i.app }): PollingAgent => ({ identity, instance: { podUid: i.podUid, namespace: i.namespace, pod: i.pod } });

function result(id: string, over: Partial<CommandResult> = {}): CommandResult {
  const at = new Date(0).toISOString();
  return { id, status: 'completed', exitCode: 0, signal: null, startedAt: at, finishedAt: at, durationMs: 5, stdout: 'ok\n', stderr: '', stdoutTruncated: false, stderrTruncated: false, ...over };
}

let store: MemoryRecordStore;
let audit: AuditLog;
let now: number;
let queue: CommandQueue;

async function auditActions(): Promise<string[]> {
  return (await audit.list({ limit: 1000 })).items.map((e: AuditEntry) => `${e.action}:${e.outcome}`).reverse();
}

beforeEach(() => {
  now = Date.parse('2026-01-01T00:00:00Z');
  store = new MemoryRecordStore();
  store.now = () => now;
  audit = new AuditLog(store, log, () => now);
  queue = new CommandQueue({ store, audit, log, ttlMs: 60_000, resultTimeoutMs: 30_000, refreshMs: 1000, now: () => now });
});

describe('command queue', () => {
  it('delivers a command once, to its own instance only, oldest first', async () => {
    const a = inst();
    const b = inst();
    const first = await queue.enqueue({ template: 'echo', params: { word: 'one' }, target: { selector: { app: 'web' }, maxFanOut: 2 }, instances: [a, b], requestedBy: operator });
    now += 1;
    const second = await queue.enqueue({ template: 'echo', params: { word: 'two' }, target: { podUid: a.podUid }, instances: [a], requestedBy: operator });
    expect(queue.pending([a.podUid])).toBe(true);
    const got = await queue.claim(agentOf(a));
    expect(got.map((c) => [c.id, c.params.word])).toEqual([[first.id, 'one'], [second.id, 'two']]);
    expect(got[0]).toEqual({ id: first.id, template: 'echo', params: { word: 'one' }, createdAt: first.createdAt, expiresAt: first.expiresAt });
    expect(await queue.claim(agentOf(a))).toEqual([]);
    expect(queue.pending([a.podUid])).toBe(false);
    expect(queue.pending([b.podUid])).toBe(true);
    const view = await queue.get(first.id);
    expect(view?.runs.map((r) => [r.instance.podUid, r.status])).toEqual(expect.arrayContaining([[a.podUid, 'delivered'], [b.podUid, 'queued']]));
  });

  it('serves nothing to a token that does not cover the instance the command was queued for', async () => {
    const a = inst({ namespace: 'shop' });
    await queue.enqueue({ template: 'echo', params: {}, target: { podUid: a.podUid }, instances: [a], requestedBy: operator });
    // The same pod uid claimed with a token of another namespace, or under another pod name, gets nothing.
    expect(await queue.claim({ identity: { subject: 'static:other', namespace: 'bank', app: 'web' }, instance: { podUid: a.podUid } })).toEqual([]);
    expect(await queue.claim({ identity: { subject: 'anonymous' }, instance: { podUid: a.podUid, pod: 'someone-else' } })).toEqual([]);
    expect(store.count(KIND_QUEUE)).toBe(1);
    expect(await queue.claim(agentOf(a))).toHaveLength(1);
  });

  it('expires a command not picked up within its ttl, on refresh and on claim, and audits it', async () => {
    const a = inst();
    const b = inst();
    const cmd = await queue.enqueue({ template: 'echo', params: {}, target: { selector: { app: 'web' }, maxFanOut: 5 }, instances: [a, b], requestedBy: operator, ttlMs: 10_000 });
    now += 9_999;
    await queue.refresh();
    expect((await queue.get(cmd.id))?.summary).toEqual({ queued: 2 });
    now += 1;
    // Before any sweep, the view already shows it expired.
    expect((await queue.get(cmd.id))?.summary).toEqual({ expired: 2 });
    expect(await queue.claim(agentOf(a))).toEqual([]);
    await queue.refresh();
    expect(store.count(KIND_QUEUE)).toBe(0);
    expect(queue.pending([a.podUid, b.podUid])).toBe(false);
    const view = await queue.get(cmd.id);
    expect(view).toMatchObject({ done: true, summary: { expired: 2 } });
    expect(view?.runs.every((r) => r.expiredAt === new Date(now).toISOString())).toBe(true);
    expect(await auditActions()).toEqual(['command.expire:expired', 'command.expire:expired']);
  });

  it('stores a result once: a repeat is a duplicate, a different one a conflict; unknown pods get 404', async () => {
    const a = inst();
    const cmd = await queue.enqueue({ template: 'echo', params: {}, target: { podUid: a.podUid }, instances: [a], requestedBy: operator });
    await queue.claim(agentOf(a));
    expect(await queue.recordResult(agentOf(inst()), result(cmd.id))).toMatchObject({ ok: false, status: 404 });
    expect(await queue.recordResult({ identity: { subject: 'x', namespace: 'bank' }, instance: { podUid: a.podUid } }, result(cmd.id))).toMatchObject({ ok: false, status: 403 });
    expect(await queue.recordResult(agentOf(a), result(cmd.id, { exitCode: 2 }))).toEqual({ ok: true, duplicate: false });
    expect(await queue.recordResult(agentOf(a), result(cmd.id, { exitCode: 2 }))).toEqual({ ok: true, duplicate: true });
    expect(await queue.recordResult(agentOf(a), result(cmd.id, { status: 'refused', exitCode: null }))).toMatchObject({ ok: false, status: 409 });
    const view = await queue.get(cmd.id);
    expect(view?.runs[0]).toMatchObject({ status: 'completed', outcome: 'failed', result: { exitCode: 2, stdout: 'ok\n' } });
    expect(await auditActions()).toEqual(['command.deliver:ok', 'command.result:failed']);
  });

  it('marks a delivered run lost when no result comes in time, and still takes a late result', async () => {
    const a = inst();
    const cmd = await queue.enqueue({ template: 'echo', params: {}, target: { podUid: a.podUid }, instances: [a], requestedBy: operator });
    await queue.claim(agentOf(a));
    now += 29_999;
    await queue.refresh();
    expect((await queue.get(cmd.id))?.runs[0]?.status).toBe('delivered');
    now += 1;
    await queue.refresh();
    expect(await queue.get(cmd.id)).toMatchObject({ done: true, runs: [{ status: 'lost', outcome: 'failed' }] });
    expect(await queue.recordResult(agentOf(a), result(cmd.id))).toEqual({ ok: true, duplicate: false });
    expect((await queue.get(cmd.id))?.runs[0]).toMatchObject({ status: 'completed', outcome: 'ok' });
    expect(await auditActions()).toEqual(['command.deliver:ok', 'command.lost:failed', 'command.result:ok']);
  });

  it('wakes a waiting poll when a command is queued, and releases every wait on close', async () => {
    const a = inst();
    const t0 = Date.now();
    const waiting = queue.waitFor(a.podUid, 10_000);
    await queue.enqueue({ template: 'echo', params: {}, target: { podUid: a.podUid }, instances: [a], requestedBy: operator });
    await waiting;
    expect(Date.now() - t0).toBeLessThan(5_000);
    const other = queue.waitFor(inst().podUid, 10_000);
    await queue.close();
    await other;
    expect(Date.now() - t0).toBeLessThan(5_000);
    // After close a wait returns at once.
    await queue.waitFor(a.podUid, 10_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('selector fan-out', () => {
  /** listInstances over an array with small pages, so the selection has to follow cursors. */
  function fleet(items: StoredInstance[]) {
    return {
      getInstance: (uid: string) => Promise.resolve(items.find((i) => i.podUid === uid)),
      listInstances: (q: InstanceQuery = {}): Promise<Page<StoredInstance>> => {
        const all = items.filter((i) => (q.namespace === undefined || i.namespace === q.namespace) && (q.app === undefined || i.app === q.app) && (q.tenant === undefined || i.tenant === q.tenant) && (q.node === undefined || i.node === q.node));
        const start = q.cursor ? Number(q.cursor) : 0;
        const page = all.slice(start, start + 3);
        return Promise.resolve(start + 3 < all.length ? { items: page, nextCursor: String(start + 3) } : { items: page });
      },
    };
  }
  const stored = (over: Partial<StoredInstance>): StoredInstance => ({ ...inst(), podIp: null, agent: { daemonVersion: '1.0.0', workerVersion: '1.0.0', configRevision: '1', breaker: 'closed', worker: 'running' }, bootId: randomUUID(), lastSeq: 0, intervalMs: 10_000, dropped: 0, firstSeen: 0, lastSeen: 0, lastSentAt: 0, status: 'healthy', statusSince: 0, ...over });

  it('selects up to maxFanOut instances across pages, skipping retired ones', async () => {
    const items = [...Array.from({ length: 7 }, () => stored({ app: 'web' })), stored({ app: 'web', status: 'retired' }), stored({ app: 'api' })];
    const r = await selectInstances(fleet(items), { selector: { app: 'web' }, maxFanOut: 7 });
    expect(r.ok && r.instances.length).toBe(7);
  });

  it('refuses the whole target when the selector matches more than maxFanOut, or nothing', async () => {
    const items = Array.from({ length: 7 }, () => stored({ namespace: 'shop' }));
    const over = await selectInstances(fleet(items), { selector: { namespace: 'shop' }, maxFanOut: 6 });
    expect(over).toEqual({ ok: false, status: 400, violations: [{ path: 'target.selector', message: expect.stringMatching(/more than maxFanOut 6/) }] });
    const none = await selectInstances(fleet(items), { selector: { namespace: 'bank', node: 'n9' }, maxFanOut: 6 });
    expect(none).toEqual({ ok: false, status: 400, violations: [{ path: 'target.selector', message: 'matches no live instance (namespace=bank, node=n9)' }] });
    const missing = await selectInstances(fleet(items), { podUid: randomUUID() });
    expect(missing).toMatchObject({ ok: false, status: 404 });
  });
});

describe('retention', () => {
  it('prunes commands with their runs, and audit entries, older than the cutoff', async () => {
    const a = inst();
    const old = await queue.enqueue({ template: 'echo', params: {}, target: { podUid: a.podUid }, instances: [a], requestedBy: operator, ttlMs: 1000 });
    await audit.write({ actor: { type: 'operator', name: 'oncall' }, action: 'command.create', outcome: 'ok', commandId: old.id });
    now += 60_000;
    await queue.refresh();
    const fresh = await queue.enqueue({ template: 'echo', params: {}, target: { podUid: a.podUid }, instances: [a], requestedBy: operator });
    await audit.write({ actor: { type: 'operator', name: 'oncall' }, action: 'command.create', outcome: 'ok', commandId: fresh.id });
    expect(await queue.prune(now - 30_000)).toBe(1);
    expect(await queue.get(old.id)).toBeUndefined();
    expect(store.count('command-run')).toBe(1);
    expect((await queue.get(fresh.id))?.runs).toHaveLength(1);
    // Only the first create is older than the cutoff; the expiry (written at the refresh) and the fresh create stay.
    expect(await audit.prune(now - 30_000)).toBe(1);
    expect((await audit.list({})).items.map((e) => `${e.action} ${e.commandId}`)).toEqual([`command.create ${fresh.id}`, `command.expire ${old.id}`]);
  });
});
