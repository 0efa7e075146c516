import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListSplitter } from '../../../../collector/engine/kube/list-splitter.ts';

function split(text: string, cuts: number[]): { items: unknown[]; metadata: unknown } {
  const items: unknown[] = [];
  const s = new ListSplitter((t) => items.push(JSON.parse(t)));
  let at = 0;
  for (const c of [...cuts.filter((x) => x < text.length)].sort((a, b) => a - b)) {
    s.push(text.slice(at, c));
    at = c;
  }
  s.push(text.slice(at));
  return { items, metadata: s.end() };
}

describe('ListSplitter', () => {
  it('yields every item and the metadata, however the response is cut into chunks', () => {
    const item = fc.record({
      metadata: fc.record({ name: fc.string(), labels: fc.dictionary(fc.string(), fc.string()) }),
      status: fc.jsonValue(),
    });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.array(fc.nat(2000)), fc.boolean(), (items, cuts, metadataLast) => {
        const metadata = { resourceVersion: '42', continue: 'eyJ9In0=' };
        const list = metadataLast ? { kind: 'PodList', apiVersion: 'v1', items, metadata } : { kind: 'PodList', apiVersion: 'v1', metadata, items };
        const text = JSON.stringify(list, null, cuts.length % 2 ? 1 : undefined);
        const got = split(text, cuts);
        expect(got.items).toEqual(JSON.parse(JSON.stringify(items)));
        expect(got.metadata).toEqual(metadata);
      }),
    );
  });

  it('is not fooled by braces, brackets, quotes and escapes inside strings, nor by a key named items below the top', () => {
    const items = [{ metadata: { name: 'a{[' }, data: { items: ['}', '"]'], x: '\\"}' } }, { metadata: { name: 'b' } }];
    expect(split(JSON.stringify({ kind: 'X', metadata: { resourceVersion: '1' }, items }), [3, 17, 40]).items).toEqual(items);
  });

  it('refuses a response cut short', () => {
    const s = new ListSplitter(() => undefined);
    s.push('{"kind":"PodList","items":[{"metadata":{"name":"a"}}');
    expect(() => s.end()).toThrow(/ended early/);
  });
});
