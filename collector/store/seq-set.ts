/**
 * The sequence numbers of one (pod uid, boot id) this process has claimed, as sorted, disjoint, inclusive
 * intervals, plus a floor: a seq at or below the floor that no interval holds may have been stored before this
 * process saw the pair, so the store's table decides it; a seq above the floor and outside every interval is new.
 *
 * A sidecar sends seqs in order, so the set is nearly always one interval that grows at its end; a spool replaying
 * a gap after newer beats arrived leaves two until the gap fills. Checking a seq costs a binary search, not a read.
 * One is kept per active instance (10,000 and more), so it is one small flat array, not an array per bound.
 */
export class SeqSet {
  /** `${podUid}|${bootId}`: the store's map key, split again only when the set is written. */
  readonly key: string;
  floor: number;
  /** Interval bounds, flat: [start0, end0, start1, end1, ...], ascending and not touching (adjacent ones merge). */
  bounds: number[] = [];
  /** receivedAt of the newest claim: the table's `received_at`, and the age by which idle pairs are forgotten. */
  lastClaimAt = 0;

  constructor(key: string, floor: number) {
    this.key = key;
    this.floor = floor;
  }

  /** Index (even) of the last interval starting at or before `seq`, or -2. */
  #find(seq: number): number {
    const b = this.bounds;
    let lo = 0;
    let hi = (b.length >> 1) - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid * 2]! <= seq) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at * 2;
  }

  has(seq: number): boolean {
    const i = this.#find(seq);
    return i >= 0 && seq <= this.bounds[i + 1]!;
  }

  add(seq: number, at: number): void {
    if (at > this.lastClaimAt) this.lastClaimAt = at;
    const b = this.bounds;
    if (b.length === 0) {
      this.bounds = [seq, seq];
      return;
    }
    const i = this.#find(seq);
    if (i >= 0 && seq <= b[i + 1]!) return;
    const joinsLeft = i >= 0 && b[i + 1]! === seq - 1;
    const joinsRight = i + 2 < b.length && b[i + 2]! === seq + 1;
    if (joinsLeft && joinsRight) b.splice(i + 1, 2);
    else if (joinsLeft) b[i + 1] = seq;
    else if (joinsRight) b[i + 2] = seq;
    else b.splice(i + 2, 0, seq, seq);
  }

  get intervals(): number {
    return this.bounds.length >> 1;
  }

  /**
   * Keeps at most `max` intervals (the newest), raising the floor over the dropped ones, which the table then
   * answers for. Only for a set whose claims are all in the table: a dropped claim must still be found there.
   */
  trim(max: number): void {
    const drop = this.intervals - max;
    if (drop <= 0) return;
    this.floor = Math.max(this.floor, this.bounds[drop * 2 - 1]!);
    this.bounds.splice(0, drop * 2);
  }
}
