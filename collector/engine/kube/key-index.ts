/**
 * A copy of `s` as one flat string. Keys and values built by concatenation are rope (cons) strings in V8, about
 * twice the size of their text; at 150,000 objects the index halves by keeping flat copies.
 */
export function flatString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** What the index remembers of one object: enough to notice that it changed or went away, nothing more. */
export interface IndexEntry {
  uid: string;
  resourceVersion: string;
}

/**
 * The slim index of the objects a reflector has seen: key → (uid, resourceVersion), one string per object.
 * Diffing it against a fresh list finds the objects deleted while the watch was down.
 */
export class KeyIndex {
  readonly #map = new Map<string, string>();

  get size(): number {
    return this.#map.size;
  }

  get(key: string): IndexEntry | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    const sp = v.indexOf(' ');
    return { uid: v.slice(0, sp), resourceVersion: v.slice(sp + 1) };
  }

  /** True when the key is present with exactly this uid and resourceVersion (a duplicate delivery). */
  has(key: string, uid: string, resourceVersion: string): boolean {
    return this.#map.get(key) === `${uid} ${resourceVersion}`;
  }

  /** `key` should be flat (see flatString) when it stays in the index. */
  set(key: string, uid: string, resourceVersion: string): void {
    this.#map.set(key, flatString(`${uid} ${resourceVersion}`));
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.#map.keys();
  }

  clear(): void {
    this.#map.clear();
  }
}
