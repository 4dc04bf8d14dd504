// Records of packets sent and not yet resolved, in typed-array rings indexed by packet
// number (no object per packet). Packet numbers are contiguous in the ring, including the
// numbers we deliberately skipped (optimistic-ACK defence), which are kept as SKIPPED entries.

export const SentFlag = {
  ackEliciting: 1,
  inFlight: 2,
  skipped: 4,
  acked: 8,
  lost: 16,
  carriedMaxData: 32,
  /** Message data (new or retransmitted): its ACK is progress (the stalled timer, timers.ts). */
  carriedData: 64,
} as const;

const RESOLVED = SentFlag.acked | SentFlag.lost | SentFlag.skipped;

export class SentPacketRing {
  capacity: number;
  mask: number;
  head = 0;
  count = 0;
  /** Packet number of the entry at `head`. */
  firstPn = 0;
  timeSentUs: Float64Array;
  sizeBytes: Uint16Array;
  flags: Uint8Array;
  /** Absolute position of the packet's first reference in the FrameRefRing, and how many. */
  frameStart: Float64Array;
  frameCount: Uint16Array;

  constructor(
    initialCapacity: number,
    readonly capacityMax: number,
  ) {
    this.capacity = initialCapacity;
    this.mask = initialCapacity - 1;
    this.timeSentUs = new Float64Array(initialCapacity);
    this.sizeBytes = new Uint16Array(initialCapacity);
    this.flags = new Uint8Array(initialCapacity);
    this.frameStart = new Float64Array(initialCapacity);
    this.frameCount = new Uint16Array(initialCapacity);
  }

  nextPn(): number {
    return this.firstPn + this.count;
  }

  isFull(): boolean {
    return this.count === this.capacity && this.capacity >= this.capacityMax;
  }

  indexOf(pn: number): number {
    return (this.head + (pn - this.firstPn)) & this.mask;
  }

  contains(pn: number): boolean {
    return pn >= this.firstPn && pn < this.firstPn + this.count;
  }

  /** Appends the record for packet number nextPn(); the caller checked isFull(). */
  push(timeSentUs: number, sizeBytes: number, flags: number, frameStart: number, frameCount: number): void {
    if (this.count === this.capacity) this.grow();
    const i = (this.head + this.count) & this.mask;
    this.timeSentUs[i] = timeSentUs;
    this.sizeBytes[i] = sizeBytes;
    this.flags[i] = flags;
    this.frameStart[i] = frameStart;
    this.frameCount[i] = frameCount;
    this.count++;
  }

  /** Drops resolved records from the front. Packets declared lost are kept while sent after
   *  `keepLostSentAfterUs`, so that a late ACK of one is recognised as a spurious loss. */
  popResolved(keepLostSentAfterUs = -Infinity): void {
    while (this.count > 0 && (this.flags[this.head] & RESOLVED) !== 0) {
      if ((this.flags[this.head] & SentFlag.lost) !== 0 && this.timeSentUs[this.head] > keepLostSentAfterUs) return;
      this.head = (this.head + 1) & this.mask;
      this.firstPn++;
      this.count--;
    }
  }

  /** Frame references before this absolute position are no longer needed. */
  frameFloor(nextFrameAbsolute: number): number {
    return this.count === 0 ? nextFrameAbsolute : this.frameStart[this.head];
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const order = (a: ArrayLike<number>, into: Float64Array | Uint16Array | Uint8Array) => {
      for (let k = 0; k < this.count; k++) into[k] = a[(this.head + k) & this.mask];
      return into;
    };
    this.timeSentUs = order(this.timeSentUs, new Float64Array(capacity)) as Float64Array;
    this.sizeBytes = order(this.sizeBytes, new Uint16Array(capacity)) as Uint16Array;
    this.flags = order(this.flags, new Uint8Array(capacity)) as Uint8Array;
    this.frameStart = order(this.frameStart, new Float64Array(capacity)) as Float64Array;
    this.frameCount = order(this.frameCount, new Uint16Array(capacity)) as Uint16Array;
    this.head = 0;
    this.capacity = capacity;
    this.mask = capacity - 1;
  }
}

/** (message serial, fragment index) pairs naming what each sent packet carried, so a loss
 *  re-queues exactly those fragments and an ACK releases them. Positions are absolute. */
export class FrameRefRing {
  capacity: number;
  mask: number;
  /** Absolute position of the oldest kept entry and of the next entry. */
  start = 0;
  end = 0;
  serial: Float64Array;
  fragment: Uint32Array;

  constructor(initialCapacity: number) {
    this.capacity = initialCapacity;
    this.mask = initialCapacity - 1;
    this.serial = new Float64Array(initialCapacity);
    this.fragment = new Uint32Array(initialCapacity);
  }

  push(serial: number, fragment: number): void {
    if (this.end - this.start === this.capacity) this.grow();
    const i = this.slot(this.end);
    this.serial[i] = serial;
    this.fragment[i] = fragment;
    this.end++;
  }

  /** Index into `serial`/`fragment` of an absolute position. */
  slot(position: number): number {
    // Positions outlive int32 on long connections; `%` keeps them exact past 2^31.
    return position < 0x80000000 ? position & this.mask : position % this.capacity;
  }

  release(floor: number): void {
    if (floor > this.start) this.start = Math.min(floor, this.end);
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const serial = new Float64Array(capacity);
    const fragment = new Uint32Array(capacity);
    for (let p = this.start; p < this.end; p++) {
      const from = this.slot(p);
      serial[p % capacity] = this.serial[from];
      fragment[p % capacity] = this.fragment[from];
    }
    this.serial = serial;
    this.fragment = fragment;
    this.capacity = capacity;
    this.mask = capacity - 1;
  }
}
