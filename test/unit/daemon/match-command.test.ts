import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchCommand } from '../../../daemon/match-command.ts';
import { CommandTemplate } from '../../../src/protocol/command.ts';

const allowlist = [CommandTemplate.parse({ name: 'cat-file', argv: ['cat', '--', '{path}'], params: { path: { pattern: '/etc/[a-z.]+' } } })];

describe('matchCommand', () => {
  it('fills the param into argv when it matches the whole pattern', () => {
    expect(matchCommand({ template: 'cat-file', params: { path: '/etc/hosts' } }, allowlist)).toMatchObject({ ok: true, argv: ['cat', '--', '/etc/hosts'] });
  });

  it('refuses a template that is not in the allowlist', () => {
    expect(matchCommand({ template: 'sh', params: {} }, allowlist)).toMatchObject({ ok: false, error: expect.stringMatching(/not in this pod's allowlist/) });
  });

  it('refuses a param that matches only a prefix of the value', () => {
    expect(matchCommand({ template: 'cat-file', params: { path: '/etc/hosts;id' } }, allowlist).ok).toBe(false);
    expect(matchCommand({ template: 'cat-file', params: { path: 'x/etc/hosts' } }, allowlist).ok).toBe(false);
  });

  it('refuses a missing param and an undeclared one', () => {
    expect(matchCommand({ template: 'cat-file', params: {} }, allowlist)).toMatchObject({ ok: false, error: expect.stringMatching(/missing/) });
    expect(matchCommand({ template: 'cat-file', params: { path: '/etc/hosts', extra: 'x' } }, allowlist)).toMatchObject({ ok: false, error: expect.stringMatching(/not declared/) });
  });

  it('never lets any accepted value contain a character outside the pattern', () => {
    fc.assert(
      fc.property(fc.string(), (path) => {
        const r = matchCommand({ template: 'cat-file', params: { path } }, allowlist);
        if (r.ok) expect(r.argv[2]).toMatch(/^\/etc\/[a-z.]+$/);
        expect(r.ok).toBe(/^\/etc\/[a-z.]+$/.test(path));
      }),
    );
  });
});
