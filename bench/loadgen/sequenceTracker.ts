// Which sequence numbers arrived, per connection, as bitmaps: counts unique deliveries and
// duplicates exactly. Bounded: a sequence past the bitmap is counted as untracked, not stored.

export class SequenceTracker {
  private readonly bitmaps: Uint8Array[] = [];
  unique = 0;
  duplicates = 0;
  untracked = 0;

  constructor(
    /** Connection indexes this tracker accepts: [firstConnection, firstConnection + connectionCount). */
    readonly firstConnection: number,
    readonly connectionCount: number,
    readonly sequencesPerConnectionMax: number,
  ) {
    const bytes = Math.ceil(sequencesPerConnectionMax / 8);
    for (let i = 0; i < connectionCount; i++) this.bitmaps.push(new Uint8Array(bytes));
  }

  /** Returns true when this (connection, sequence) was new. */
  mark(connectionIndex: number, sequence: number): boolean {
    const bitmap = this.bitmaps[connectionIndex - this.firstConnection];
    if (bitmap === undefined || sequence >= this.sequencesPerConnectionMax) {
      this.untracked++;
      return false;
    }
    const byte = sequence >>> 3;
    const bit = 1 << (sequence & 7);
    if ((bitmap[byte] & bit) !== 0) {
      this.duplicates++;
      return false;
    }
    bitmap[byte] |= bit;
    this.unique++;
    return true;
  }
}
