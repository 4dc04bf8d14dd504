// The packet numbers we have received, as at most `capacity` descending ranges: what our ACK
// frames report (the newest MAX_ACK_RANGES) and how we recognise duplicates. The list starts
// small and doubles up to its capacity: a paced burst sent in one instant and reordered by
// jitter leaves hundreds of holes, and a range forgotten too early refuses the late packets
// that would fill them. When the list is full the oldest range is forgotten; anything below
// what we still remember is refused as out of window.
import { MAX_ACK_RANGES } from "../wire/frames.ts";

/** Ranges remembered per connection at most (16 KiB); the ACK frame carries the newest 64. */
export const RECEIVED_RANGES_MAX = 1024;
const RECEIVED_RANGES_INITIAL = 16;

export const ReceiveVerdict = { fresh: 0, duplicate: 1, outOfWindow: 2 } as const;

export class ReceivedRanges {
  /** [largest0, smallest0, largest1, smallest1, ...], newest range first. */
  ranges: Float64Array;
  count = 0;
  /** Everything below this was forgotten. */
  floor = 0;

  constructor(readonly capacity: number = RECEIVED_RANGES_MAX) {
    this.ranges = new Float64Array(Math.min(capacity, RECEIVED_RANGES_INITIAL) * 2);
  }

  /** Ranges an ACK frame reports: the newest ones. */
  reportedCount(): number {
    return Math.min(this.count, MAX_ACK_RANGES);
  }

  largest(): number {
    return this.count === 0 ? -1 : this.ranges[0];
  }

  /** Classifies `pn` without recording it. */
  classify(pn: number): number {
    if (pn < this.floor) return ReceiveVerdict.outOfWindow;
    const r = this.ranges;
    for (let i = 0; i < this.count; i++) {
      if (pn > r[i * 2]) return ReceiveVerdict.fresh;
      if (pn >= r[i * 2 + 1]) return ReceiveVerdict.duplicate;
    }
    return ReceiveVerdict.fresh;
  }

  /** Records a fresh packet number (classify first). */
  insert(pn: number): void {
    const r = this.ranges;
    if (this.count > 0 && pn === r[0] + 1) {
      r[0] = pn; // the common case: in order
      return;
    }
    let i = 0;
    while (i < this.count && pn < r[i * 2 + 1]) i++;
    // Now pn > r[i*2] (above range i) or i === count.
    const joinsAbove = i > 0 && pn === r[(i - 1) * 2 + 1] - 1;
    const joinsBelow = i < this.count && pn === r[i * 2] + 1;
    if (joinsAbove && joinsBelow) {
      r[(i - 1) * 2 + 1] = r[i * 2 + 1];
      this.removeAt(i);
    } else if (joinsAbove) {
      r[(i - 1) * 2 + 1] = pn;
    } else if (joinsBelow) {
      r[i * 2] = pn;
    } else {
      this.insertAt(i, pn);
    }
  }

  private removeAt(i: number): void {
    const r = this.ranges;
    r.copyWithin(i * 2, (i + 1) * 2, this.count * 2);
    this.count--;
  }

  private insertAt(i: number, pn: number): void {
    if (this.count * 2 === this.ranges.length && this.count < this.capacity) {
      const grown = new Float64Array(Math.min(this.capacity, this.count * 2) * 2);
      grown.set(this.ranges);
      this.ranges = grown;
    }
    const r = this.ranges;
    if (this.count === this.capacity) {
      if (i === this.count) {
        this.floor = pn + 1; // older than all we keep: forget it at once
        return;
      }
      this.count--;
      this.floor = r[this.count * 2] + 1;
    }
    r.copyWithin((i + 1) * 2, i * 2, this.count * 2);
    r[i * 2] = pn;
    r[i * 2 + 1] = pn;
    this.count++;
  }
}
