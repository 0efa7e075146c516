/** The `metadata` of a List response. */
export interface ListMetadata {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/**
 * Splits a Kubernetes List (`{"kind":…,"metadata":{…},"items":[{…},…]}`) into item texts as chunks arrive, so a
 * page is never held as one large string nor parsed as one object graph: each item is parsed alone, and dies
 * young. The list's `metadata` is kept as text and parsed at the end. Keys may come in any order.
 */
export class ListSplitter {
  readonly #onItem: (text: string) => void;
  #depth = 0;
  #inString = false;
  #escape = false;
  /** The last string seen directly in the outer object (a key, once a colon follows). */
  #topString = '';
  #key = '';
  /** What is being captured: an item of `items`, or the `metadata` object. */
  #capturing: 'item' | 'metadata' | undefined;
  #parts: string[] = [];
  #metadata = '';

  constructor(onItem: (text: string) => void) {
    this.#onItem = onItem;
  }

  push(chunk: string): void {
    let start = this.#capturing ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === BACKSLASH) this.#escape = true;
        else if (c === QUOTE) this.#inString = false;
        else if (this.#depth === 1) this.#topString += chunk[i];
        continue;
      }
      if (c === QUOTE) {
        this.#inString = true;
        if (this.#depth === 1) this.#topString = '';
      } else if (c === COLON && this.#depth === 1) {
        this.#key = this.#topString;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.#depth++;
        if (!this.#capturing && ((this.#depth === 3 && this.#key === 'items' && c === OPEN_BRACE) || (this.#depth === 2 && this.#key === 'metadata' && c === OPEN_BRACE))) {
          this.#capturing = this.#depth === 3 ? 'item' : 'metadata';
          start = i;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.#depth--;
        if (this.#capturing && this.#depth === (this.#capturing === 'item' ? 2 : 1)) {
          this.#parts.push(chunk.slice(start, i + 1));
          const text = this.#parts.join('');
          this.#parts = [];
          if (this.#capturing === 'item') this.#onItem(text);
          else this.#metadata = text;
          this.#capturing = undefined;
          start = -1;
        }
      }
    }
    if (this.#capturing && start >= 0) this.#parts.push(chunk.slice(start));
  }

  /** The list's metadata, once the whole response has been pushed. Throws if the response was cut short. */
  end(): ListMetadata {
    if (this.#depth !== 0 || this.#inString) throw new Error('list response ended early');
    return this.#metadata ? (JSON.parse(this.#metadata) as ListMetadata) : {};
  }
}
