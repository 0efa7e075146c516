import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CollectorCommandTemplate, loadCommandTemplates, paramViolations, unknownTemplate } from '../../../collector/control/commands/command-templates.ts';
import { CommandRequest } from '../../../collector/control/commands/command-request.ts';
import { parseWith } from '../../../src/protocol/parse.ts';

const tpl = (t: unknown): CollectorCommandTemplate => CollectorCommandTemplate.parse(t);
const catFile = tpl({ name: 'cat-file', params: { path: { pattern: '/etc/[a-z.]+' }, lines: { pattern: '[0-9]{1,3}' } } });

describe('command template params', () => {
  it('accepts params that match their regex in full', () => {
    expect(paramViolations(catFile, { path: '/etc/hosts', lines: '10' })).toEqual([]);
  });

  it('names every missing, undeclared and non-matching param, matching the whole value only', () => {
    const v = paramViolations(catFile, { path: '/etc/hosts /etc/shadow', extra: 'x' });
    expect(v).toEqual([
      { path: 'params.extra', message: expect.stringMatching(/is not a param of template "cat-file" \(it takes: path, lines\)/) },
      { path: 'params.path', message: expect.stringMatching(/"\/etc\/hosts \/etc\/shadow" does not match \/etc\/\[a-z\.\]\+/) },
      { path: 'params.lines', message: 'is required by template "cat-file"' },
    ]);
    // An alternation cannot be used to escape the anchors.
    const alt = tpl({ name: 'alt', params: { p: { pattern: 'a|b' } } });
    expect(paramViolations(alt, { p: 'a' })).toEqual([]);
    expect(paramViolations(alt, { p: 'ab' })).toHaveLength(1);
  });

  it('refuses a value when the pattern does not compile in unicode mode, rather than throwing', () => {
    const t = tpl({ name: 'odd', params: { p: { pattern: '\\-' } } });
    expect(paramViolations(t, { p: '-' })[0]?.message).toMatch(/does not compile in unicode mode/);
  });

  it('names an unknown template and lists the known ones', () => {
    const known = new Map([['cat-file', catFile]]);
    expect(unknownTemplate(known, 'cat-file')).toBeUndefined();
    expect(unknownTemplate(known, 'rm')).toEqual({ path: 'template', message: 'unknown template "rm"; the collector knows: cat-file' });
    expect(unknownTemplate(new Map(), 'rm')?.message).toMatch(/none \(configure commands.templates\)/);
  });

  it('loads templates from the config section and a file, refusing a name defined twice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'podpulse-templates-'));
    const file = join(dir, 'templates.yaml');
    writeFileSync(file, 'templates:\n  - name: uptime\n    argv: [uptime]\n');
    const all = loadCommandTemplates({ templates: [catFile], templatesFile: file });
    expect([...all.keys()]).toEqual(['cat-file', 'uptime']);
    expect(() => loadCommandTemplates({ templates: [tpl({ name: 'uptime' })], templatesFile: file })).toThrow(/"uptime" is defined twice/);
    writeFileSync(file, 'templates:\n  - name: Bad Name\n');
    expect(() => loadCommandTemplates({ templates: [], templatesFile: file })).toThrow(/templates\[0\]\.name/);
  });
});

describe('command request', () => {
  const parse = (body: unknown) => parseWith(CommandRequest, body, { what: 'command request' });

  it('requires maxFanOut with a selector and exactly one of podUid and selector', () => {
    const noFan = parse({ template: 'x', target: { selector: { app: 'web' } } });
    expect(!noFan.ok && noFan.error.violations).toEqual([expect.objectContaining({ path: 'target.maxFanOut', message: expect.stringMatching(/is required with a selector/) })]);
    const both = parse({ template: 'x', target: { podUid: '6f1c2a7e-1d7b-4a8e-9a51-0e4bb0b7f0d1', selector: { app: 'web' }, maxFanOut: 2 } });
    expect(both.ok).toBe(false);
    const empty = parse({ template: 'x', target: { selector: {}, maxFanOut: 2 } });
    expect(!empty.ok && empty.error.violations[0]?.path).toBe('target.selector');
    expect(parse({ template: 'x', params: { a: 'b' }, target: { selector: { namespace: 'shop' }, maxFanOut: 5 }, ttl: '30s' }).ok).toBe(true);
  });
});
