import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseBytes, parseDuration } from '../../../src/units.ts';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
  ])('parses %s as %d ms', (text, want) => expect(parseDuration(text)).toBe(want));

  it.each(['', '10', 's', '10x', '-1s', '1 s', '10S', 'ms10'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('round-trips every whole number of milliseconds through formatDuration', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (n) => parseDuration(formatDuration(n)) === n));
  });
});

describe('byte sizes', () => {
  it.each([
    [1024, 1024],
    ['64Mi', 64 * 1024 * 1024],
    ['1G', 1e9],
    ['512', 512],
    ['1.5Ki', 1536],
  ] as const)('parses %j as %d bytes', (v, want) => expect(parseBytes(v)).toBe(want));

  it.each(['', 'lots', '1Xi', -1, 1.5])('rejects %j', (v) => expect(parseBytes(v)).toBeUndefined());
});
