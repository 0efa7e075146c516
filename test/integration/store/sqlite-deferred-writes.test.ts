import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../collector/store/sqlite-store.ts';
import type { Heartbeat } from '../../../src/protocol/heartbeat.ts';
import { beat, failCheck, okCheck } from '../../helpers/heartbeats.ts';

// The SQLite store acknowledges a batch once its heartbeat-log rows and state changes committed, and folds dedup
// ranges, rollups and last seen in later (sqlite-deferred-writes.ts). These tests kill a real process between the
// two and check that a restart on the same file folds exactly what was acknowledged: once, not twice, not zero.

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const script = fileURLToPath(new URL('./fixtures/ingest-then-wait.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'podpulse-deferred-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ingests the batches in a child process, then kills it with SIGKILL once they committed. */
async function ingestAndKill(path: string, batches: Heartbeat[][], receivedAt: number): Promise<void> {
  const proc = spawn(process.execPath, [script, path, String(receivedAt)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => proc.once('exit', r));
  proc.stdin.end(JSON.stringify(batches));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('committed')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`fixture exited with ${code} before committing`)));
  });
  proc.kill('SIGKILL');
  await exited;
}

function logRows(path: string): number {
  const db = new DatabaseSync(path);
  try {
    return Number((db.prepare('SELECT COUNT(*) AS n FROM heartbeat_log').get() as { n: number }).n);
  } finally {
    db.close();
  }
}

describe('sqlite deferred writes', () => {
  it('folds the heartbeat log of a killed process at start-up: last seen, rollups and dedup, each once', async () => {
    const path = join(dir, 'killed.db');
    const uid = randomUUID();
    const boot = randomUUID();
    // Three current beats, then a late one (older sentAt): it counts for SLA but must not move last seq / sent at.
    const batches = [
      [beat({ podUid: uid, bootId: boot, seq: 0, sentAt: T0 + 10_000, checks: [okCheck('a')] })],
      [beat({ podUid: uid, bootId: boot, seq: 1, sentAt: T0 + 20_000, checks: [okCheck('a')] }), beat({ podUid: uid, bootId: boot, seq: 2, sentAt: T0 + 30_000, checks: [okCheck('a')] })],
      [beat({ podUid: uid, bootId: boot, seq: 5, sentAt: T0 + 5_000, checks: [failCheck('a')] })],
    ];
    await ingestAndKill(path, batches, T0 + 31_000);
    expect(logRows(path)).toBe(4);

    const store = new SqliteStore({ path });
    await store.migrate();
    expect(logRows(path)).toBe(0);
    expect(await store.getInstance(uid)).toMatchObject({ lastSeq: 2, lastSentAt: T0 + 30_000, lastSeen: T0 + 31_000, firstSeen: T0 + 31_000, status: 'healthy' });
    const roll = await store.listRollups({ from: T0 - MIN, to: T0 + MIN, podUid: uid });
    expect(roll.reduce((s, r) => s + r.okSeconds, 0)).toBe(30);
    expect(roll.reduce((s, r) => s + r.failingSeconds, 0)).toBe(10);
    expect((await store.slaTotals({ from: T0 - MIN, to: T0 + MIN, app: 'web', namespace: 'shop' })).okSeconds).toBeGreaterThanOrEqual(30);
    expect(await store.ingest(batches.flat(), T0 + 40_000)).toEqual(batches.flat().map(() => ({ duplicate: true })));
    expect(await store.ingest([beat({ podUid: uid, bootId: boot, seq: 3, sentAt: T0 + 40_000 })], T0 + 40_000)).toEqual([{ duplicate: false }]);
    await store.close();

    // A clean reopen finds nothing to fold: the rollups are not counted a second time.
    const again = new SqliteStore({ path });
    await again.migrate();
    const roll2 = await again.listRollups({ from: T0 - MIN, to: T0 + MIN, podUid: uid });
    expect(roll2.reduce((s, r) => s + r.okSeconds, 0)).toBe(40);
    await again.close();
  }, 30_000);

  it('dedups a spool replaying old seqs after newer ones, in memory and after a restart', async () => {
    const path = join(dir, 'replay.db');
    const uid = randomUUID();
    const boot = randomUUID();
    const hb = (seq: number) => beat({ podUid: uid, bootId: boot, seq, sentAt: T0 + seq * 10_000 });
    const store = new SqliteStore({ path });
    await store.migrate();
    // Live beats 10..14 arrive first; the spool then replays 0..9 (new), then 5..12 again (all seen).
    expect(await store.ingest([10, 11, 12, 13, 14].map(hb), T0)).toEqual(Array(5).fill({ duplicate: false }));
    expect(await store.ingest([0, 2, 4, 6, 8].map(hb), T0)).toEqual(Array(5).fill({ duplicate: false }));
    expect(await store.ingest([1, 2, 3, 4, 5, 6, 7, 8, 9].map(hb), T0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => ({ duplicate: s % 2 === 0 })));
    expect((await store.ingest([5, 6, 7, 8, 9, 10, 11, 12].map(hb), T0)).every((o) => o.duplicate)).toBe(true);
    await store.close();

    // After a restart memory starts empty: old seqs are answered from the stored ranges.
    const again = new SqliteStore({ path });
    await again.migrate();
    expect((await again.ingest([0, 7, 14].map(hb), T0 + MIN)).every((o) => o.duplicate)).toBe(true);
    expect(await again.ingest([15, 3, 16].map(hb), T0 + MIN)).toEqual([{ duplicate: false }, { duplicate: true }, { duplicate: false }]);
    // Eight gaps leave nine ranges in memory; the table answers for the rest after a flush trims them.
    const gaps = [20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40];
    await again.ingest(gaps.map(hb), T0 + MIN);
    await again.getInstance(uid);
    expect((await again.ingest(gaps.map(hb), T0 + MIN)).every((o) => o.duplicate)).toBe(true);
    expect(await again.ingest([21, 39].map(hb), T0 + MIN)).toEqual([{ duplicate: false }, { duplicate: false }]);
    expect(await again.getInstance(uid)).toMatchObject({ lastSeq: 40, lastSentAt: T0 + 400_000 });
    await again.close();
  });

  it('writes last seen to the table at the flush, and a read sees it before the flush', async () => {
    const path = join(dir, 'flush.db');
    const uid = randomUUID();
    const store = new SqliteStore({ path, flushEveryMs: 50 });
    await store.migrate();
    await store.ingest([beat({ podUid: uid, seq: 0, sentAt: T0 })], T0);
    await store.ingest([beat({ podUid: uid, seq: 1, sentAt: T0 + 10_000 })], T0 + 10_000);
    await new Promise((r) => setTimeout(r, 200));
    // Read through a second connection, which sees only what is in the tables.
    const db = new DatabaseSync(path);
    const row = db.prepare('SELECT last_seq, last_seen FROM instances WHERE pod_uid = ?').get(uid) as { last_seq: number; last_seen: number };
    const log = Number((db.prepare('SELECT COUNT(*) AS n FROM heartbeat_log').get() as { n: number }).n);
    db.close();
    expect({ lastSeq: Number(row.last_seq), lastSeen: Number(row.last_seen), log }).toEqual({ lastSeq: 1, lastSeen: T0 + 10_000, log: 0 });
    await store.close();
  });

  it('folds nothing for a status that does not change, and folds before writing one that does', async () => {
    const path = join(dir, 'status.db');
    const uid = randomUUID();
    const store = new SqliteStore({ path, flushEveryMs: 3_600_000 });
    await store.migrate();
    const hb = beat({ podUid: uid, seq: 0, sentAt: T0, checks: [okCheck('a')] });
    hb.agent = { ...hb.agent, breaker: 'open', breakerReason: 'worker over its memory limit' };
    await store.ingest([hb], T0);
    // The heartbeat already made it probe-broken: the diagnosis saying so again must not fold the deferred writes
    // (once per batch during a fleet-wide wave of broken probes).
    await store.setInstanceStatus(uid, 'probe-broken', T0 + 1_000);
    expect(logRows(path)).toBe(1);
    await store.setInstanceStatus(uid, 'silent', T0 + 60_000);
    expect(logRows(path)).toBe(0);
    expect(await store.getInstance(uid)).toMatchObject({ status: 'silent', statusSince: T0 + 60_000, lastSeq: 0, lastSeen: T0 });
    await store.close();
  });

  it('upgrades per-heartbeat dedup rows of a v2 file into seq ranges', async () => {
    const path = join(dir, 'upgrade.db');
    const uid = randomUUID();
    const boot = randomUUID();
    // A file at schema v2 (the previous release), holding dedup rows for seqs 0..4 and 7..8 of one boot.
    const db = new DatabaseSync(path);
    const { SQLITE_MIGRATIONS } = await import('../../../collector/store/migrations/sqlite-migrations.ts');
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of SQLITE_MIGRATIONS.filter((x) => x.version < 3 || x.version === 10).sort((a, b) => a.version - b.version)) {
      for (const s of m.statements) db.exec(s);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, 0);
    }
    for (const seq of [0, 1, 2, 3, 4, 7, 8]) db.prepare('INSERT INTO heartbeat_dedup VALUES (?, ?, ?, ?)').run(uid, boot, seq, T0 + seq);
    db.close();
    const store = new SqliteStore({ path });
    await store.migrate();
    const hb = (seq: number) => beat({ podUid: uid, bootId: boot, seq, sentAt: T0 + seq * 10_000 });
    expect((await store.ingest([0, 4, 7, 8].map(hb), T0)).every((o) => o.duplicate)).toBe(true);
    expect(await store.ingest([5, 6, 9].map(hb), T0)).toEqual(Array(3).fill({ duplicate: false }));
    await store.close();
  });
});
