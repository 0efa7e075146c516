import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs on Node.js 24 LTS, the version the package pins', () => {
    expect(process.versions.node.startsWith('24.')).toBe(true);
  });
});
