import { describe, expect, it } from 'vitest';
import { diffJson } from '../../../collector/control/config-center/config-diff.ts';
import { ConfigDocument } from '../../../collector/control/config-center/config-document.ts';
import { chainFor, parseScope, scopeCovers, scopeId } from '../../../collector/control/config-center/config-scope.ts';
import { computeEffective, servedBody, type ConfigInputs } from '../../../collector/control/config-center/effective-config.ts';
import { mergeDocuments } from '../../../collector/control/config-center/merge-config.ts';
import { parseWith } from '../../../src/protocol/parse.ts';
import type { ReleaseManifest } from '../../../src/protocol/release.ts';

const doc = (d: unknown): ConfigDocument => ConfigDocument.parse(d);
const dns = (id: string, host: string, extra: Record<string, unknown> = {}) => ({ id, kind: 'dns', spec: { name: host }, ...extra });
const key = { podUid: '0b6f7a52-2a4e-4c49-9d0e-6f0a4b2c1d11', namespace: 'shop', app: 'web', tenant: 'acme' };

function inputs(docs: Record<string, unknown>, over: Partial<ConfigInputs> = {}): ConfigInputs {
  return { documents: new Map(Object.entries(docs).map(([k, v]) => [k, doc(v)])), releases: new Map(), pin: undefined, rollouts: [], ...over };
}

describe('config scopes', () => {
  it('parses every level and round-trips the id; names what is wrong otherwise', () => {
    for (const id of ['global', 'tenant/acme', 'namespace/shop', 'app/shop/web', `instance/${key.podUid}`]) {
      const p = parseScope(id);
      expect(p.ok && scopeId(p.scope)).toBe(id);
    }
    expect(parseScope('app/shop')).toMatchObject({ ok: false, error: expect.stringMatching(/app\/<namespace>\/<app>/) as unknown });
    expect(parseScope('namespace/Shop_')).toMatchObject({ ok: false, error: expect.stringMatching(/namespace "Shop_"/) as unknown });
    expect(parseScope('cluster/x')).toMatchObject({ ok: false, error: expect.stringMatching(/unknown level "cluster"/) as unknown });
    expect(parseScope('instance/not-a-uid').ok).toBe(false);
    const upper = parseScope(`instance/${key.podUid.toUpperCase()}`);
    expect(upper.ok && scopeId(upper.scope)).toBe(`instance/${key.podUid}`);
  });

  it('orders an instance chain broadest first and matches scopes to instances', () => {
    expect(chainFor(key)).toEqual(['global', 'tenant/acme', 'namespace/shop', 'app/shop/web', `instance/${key.podUid}`]);
    expect(chainFor({ ...key, tenant: '' })).not.toContain('tenant/');
    expect(scopeCovers({ level: 'app', namespace: 'shop', app: 'web' }, key)).toBe(true);
    expect(scopeCovers({ level: 'app', namespace: 'other', app: 'web' }, key)).toBe(false);
    expect(scopeCovers({ level: 'tenant', tenant: 'beta' }, key)).toBe(false);
  });
});

describe('mergeDocuments', () => {
  it('lets the narrower scope win per field and per check id, keeping check order stable', () => {
    const m = mergeDocuments([
      doc({ heartbeat: { interval: '10s' }, defaults: { interval: '30s', timeout: '5s' }, checks: [dns('a', 'a.example'), dns('b', 'b.example')] }),
      doc({ defaults: { timeout: '2s' }, checks: [dns('b', 'b2.example', { interval: '15s' }), dns('c', 'c.example')] }),
    ]);
    expect(m.config.heartbeat).toEqual({ interval: '10s' });
    expect(m.config.defaults).toEqual({ interval: '30s', timeout: '2s' });
    expect(m.config.checks?.map((c) => [c.id, (c.spec as { name: string }).name, c.interval])).toEqual([['a', 'a.example', undefined], ['b', 'b2.example', '15s'], ['c', 'c.example', undefined]]);
  });

  it('removes checks a broader scope set, and a narrower one may add the id back', () => {
    const m = mergeDocuments([doc({ checks: [dns('a', 'x'), dns('b', 'y')] }), doc({ removeChecks: ['a'] }), doc({ checks: [dns('a', 'z')] })]);
    expect(m.config.checks?.map((c) => c.id)).toEqual(['b', 'a']);
  });

  it('merges command templates by name and takes the last release version', () => {
    const t = (name: string, argv: string[]) => ({ name, argv });
    const m = mergeDocuments([doc({ commandTemplates: [t('ls', ['ls'])], release: { version: '1.0.0' } }), doc({ commandTemplates: [t('ls', ['ls', '-l']), t('df', ['df'])], release: { version: '1.1.0' } })]);
    expect(m.config.commandTemplates?.map((x) => [x.name, x.argv.join(' ')])).toEqual([['ls', 'ls -l'], ['df', 'df']]);
    expect(m.releaseVersion).toBe('1.1.0');
  });
});

describe('config document validation', () => {
  it('refuses an unknown check kind, a bad regex and a duplicate id, naming the path', () => {
    const r = parseWith(ConfigDocument, { checks: [{ id: 'x', kind: 'smtp', spec: {} }] }, { byId: true });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.violations[0]!.path).toMatch(/^checks\[(x|0)\]\.kind$/);
    const re = parseWith(ConfigDocument, { checks: [{ id: 'h', kind: 'http', spec: { url: 'http://a/', bodyRegex: '([' } }] }, { byId: true });
    expect(!re.ok && re.error.violations.map((v) => v.path)).toContain('checks[h].spec.bodyRegex');
    const dup = parseWith(ConfigDocument, { checks: [dns('a', 'x'), dns('a', 'y')] }, { byId: true });
    expect(!dup.ok && dup.error.violations[0]!.message).toMatch(/duplicate check id/);
  });

  it('finds timeout >= interval only in the merged config, where a broader default meets a narrower check', () => {
    const e = computeEffective(inputs({ global: { defaults: { interval: '5s', timeout: '2s' } }, 'app/shop/web': { checks: [dns('slow', 'x', { timeout: '6s' })] } }), key);
    expect(e.violations?.map((v) => v.path)).toEqual(['checks[slow].timeout']);
    expect(e.violations?.[0]!.message).toMatch(/timeout "6s" must be shorter than interval "5s"/);
  });
});

describe('computeEffective', () => {
  it('gives equal revisions to equal content and a new one when anything changes', () => {
    const a = computeEffective(inputs({ global: { checks: [dns('a', 'x')] } }), key);
    const b = computeEffective(inputs({ global: { checks: [dns('a', 'x')] }, 'app/shop/other': { checks: [dns('b', 'y')] } }), key);
    const c = computeEffective(inputs({ global: { checks: [dns('a', 'x')] }, 'app/shop/web': { checks: [dns('b', 'y')] } }), key);
    expect(a.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(b.revision).toBe(a.revision);
    expect(c.revision).not.toBe(a.revision);
    expect(c.scopes).toEqual(['global', 'app/shop/web']);
    expect(c.config.revision).toBe(c.revision);
    expect(a.violations).toBeUndefined();
  });

  it('resolves the release: the pin over a rollout over the documents, with the URL on the base the agent used', () => {
    const m = (version: string): ReleaseManifest => ({ apiVersion: 'podpulse.io/v1', version, sha256: 'a'.repeat(64), size: 10, entry: 'worker.mjs', builtAt: '2026-01-01T00:00:00Z', build: { node: 'v24' }, signature: Buffer.alloc(64).toString('base64'), keyId: 'k1' });
    const releases = new Map([['1.0.0', m('1.0.0')], ['2.0.0', m('2.0.0')]]);
    const docs = { global: { release: { version: '1.0.0' } } };
    const e = computeEffective(inputs(docs, { releases }), key);
    expect(e.config.release?.version).toBe('1.0.0');
    expect(e.releaseSource).toBe('document');
    const served = servedBody(e, 'http://collector.example:8080/');
    expect((JSON.parse(served.body) as { release: { url: string } }).release.url).toBe('http://collector.example:8080/v1/agent/releases/1.0.0');
    expect(served.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const pinned = computeEffective(inputs(docs, { releases, pin: { version: '2.0.0', by: 'ops', at: 0 } }), key);
    expect([pinned.config.release?.version, pinned.releaseSource]).toEqual(['2.0.0', 'pin']);
  });
});

describe('diffJson', () => {
  it('diffs checks by id and fields by path', () => {
    const d = diffJson({ checks: [dns('a', 'x'), dns('b', 'y')], heartbeat: { interval: '10s' } }, { checks: [dns('b', 'y2'), dns('c', 'z')], heartbeat: { interval: '5s' } });
    expect(d.map((x) => [x.op, x.path])).toEqual([['remove', 'checks[a]'], ['change', 'checks[b].spec.name'], ['add', 'checks[c]'], ['change', 'heartbeat.interval']]);
  });
});
