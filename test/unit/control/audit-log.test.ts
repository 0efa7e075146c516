import { describe, expect, it } from 'vitest';
import { AuditLog, timePrefix } from '../../../collector/control/audit/audit-log.ts';
import { timeSortableId } from '../../../collector/store/record-store.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { MemoryRecordStore } from '../../helpers/memory-record-store.ts';

const log = createLogger({ name: 'test', level: 'silent' });
const T0 = Date.parse('2026-03-01T12:00:00Z');

async function filled(): Promise<AuditLog> {
  let now = T0;
  const audit = new AuditLog(new MemoryRecordStore(), log, () => now);
  for (let i = 0; i < 30; i++) {
    now = T0 + i * 1000;
    await audit.write({
      actor: { type: i % 3 === 0 ? 'agent' : 'operator', name: i % 2 === 0 ? 'oncall' : 'sre-bot' },
      action: i % 3 === 0 ? 'command.result' : i % 3 === 1 ? 'command.create' : 'PUT /api/v1/config/:scope',
      outcome: i % 5 === 0 ? 'refused' : 'ok',
      instances: [`uid-${i % 4}`],
      commandId: `c${i}`,
    });
  }
  return audit;
}

describe('audit log', () => {
  it('time-prefixes agree with time-sortable ids', () => {
    for (const t of [0, 1, T0, T0 + 999]) expect(timeSortableId(t).slice(0, 10)).toBe(timePrefix(t));
  });

  it('lists newest first and pages with a cursor without gaps or repeats', async () => {
    const audit = await filled();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await audit.list({ limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.commandId!));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `c${29 - i}`));
  });

  it('filters by actor, action prefix, outcome, instance and time window', async () => {
    const audit = await filled();
    const ids = async (f: Parameters<AuditLog['list']>[0]) => (await audit.list({ limit: 1000, ...f })).items.map((e) => Number(e.commandId!.slice(1))).reverse();
    expect(await ids({ action: 'command.result' })).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(await ids({ action: 'command.' })).toHaveLength(20);
    expect(await ids({ action: 'command.*', actor: 'sre-bot', outcome: 'refused' })).toEqual([15, 25]);
    expect(await ids({ instance: 'uid-1', since: T0 + 10_000, until: T0 + 21_000 })).toEqual([13, 17, 21]);
    expect(await ids({ until: T0 + 2000 })).toEqual([0, 1, 2]);
    expect(await ids({ since: T0 + 28_000 })).toEqual([28, 29]);
  });

  it('keeps the full instance count when it caps the list it stores', async () => {
    const audit = new AuditLog(new MemoryRecordStore(), log);
    const e = await audit.write({ actor: { type: 'operator', name: 'oncall' }, action: 'command.create', outcome: 'ok', instances: Array.from({ length: 1500 }, (_, i) => `uid-${i}`) });
    expect(e.instances).toHaveLength(1000);
    expect(e.instanceCount).toBe(1500);
  });
});
