import { describe, expect, it } from 'vitest';
import { SeqSet } from '../../../collector/store/seq-set.ts';

const intervals = (s: SeqSet): [number, number][] => {
  const out: [number, number][] = [];
  for (let i = 0; i < s.bounds.length; i += 2) out.push([s.bounds[i]!, s.bounds[i + 1]!]);
  return out;
};

describe('SeqSet', () => {
  it('keeps claimed seqs as merged intervals, whatever the arrival order', () => {
    const s = new SeqSet('pod|boot', -1);
    for (const seq of [10, 11, 12, 0, 2, 1, 5, 4, 3, 13, 7]) s.add(seq, 1);
    expect(intervals(s)).toEqual([[0, 5], [7, 7], [10, 13]]);
    s.add(6, 1);
    s.add(8, 1);
    s.add(9, 1);
    expect(intervals(s)).toEqual([[0, 13]]);
    expect([0, 6, 13].map((x) => s.has(x))).toEqual([true, true, true]);
    expect([-1, 14].map((x) => s.has(x))).toEqual([false, false]);
  });

  it('answers a repeated claim as held and leaves the intervals as they were', () => {
    const s = new SeqSet('pod|boot', -1);
    s.add(3, 1);
    s.add(3, 2);
    expect(intervals(s)).toEqual([[3, 3]]);
    expect(s.lastClaimAt).toBe(2);
  });

  it('trims to the newest intervals and raises the floor over the dropped ones', () => {
    const s = new SeqSet('pod|boot', 4);
    for (const seq of [10, 20, 30, 40]) s.add(seq, 1);
    s.trim(2);
    expect(intervals(s)).toEqual([[30, 30], [40, 40]]);
    expect(s.floor).toBe(20);
    expect(s.has(10)).toBe(false);
    s.trim(5);
    expect(s.floor).toBe(20);
  });
});
