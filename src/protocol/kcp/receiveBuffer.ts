// ikcp's rcv_buf (segments that arrived ahead of rcv_nxt) as a ring indexed by sn, allocated on
// the first out-of-order segment; and ikcp's rcv_queue, which here only holds the fragments of
// a message still being assembled: complete messages go straight to the application.

/** Bytes held across all sessions for out-of-order segments and incomplete messages. */
export interface ReceiveBudget {
  usedBytes: number;
  readonly maxBytes: number;
}

export class OutOfOrderSegments {
  private mask = 0;
  private present = new Uint8Array(0);
  private frg = new Uint8Array(0);
  private data: (Uint8Array | null)[] = [];
  held = 0;

  /** `window` bounds how far ahead of rcv_nxt a segment may be, so sn & mask never collides. */
  constructor(private readonly window: number) {}

  has(sn: number): boolean {
    return this.held > 0 && this.present[sn & this.mask] === 1;
  }

  put(sn: number, frg: number, data: Uint8Array): void {
    if (this.mask === 0) this.allocate();
    const s = sn & this.mask;
    this.present[s] = 1;
    this.frg[s] = frg;
    this.data[s] = data;
    this.held++;
  }

  /** Takes the segment `sn` (the caller checked `has`); its fragment count is in `takenFrg`. */
  take(sn: number): Uint8Array {
    const s = sn & this.mask;
    const data = this.data[s] as Uint8Array;
    this.takenFrg = this.frg[s];
    this.present[s] = 0;
    this.data[s] = null;
    this.held--;
    return data;
  }
  takenFrg = 0;

  /** Drops everything; returns the bytes released. */
  clear(): number {
    let released = 0;
    for (let s = 0; s < this.data.length; s++) {
      const data = this.data[s];
      if (data) released += data.length;
      this.data[s] = null;
      this.present[s] = 0;
    }
    this.held = 0;
    return released;
  }

  private allocate(): void {
    let capacity = 8;
    while (capacity < this.window) capacity *= 2;
    this.mask = capacity - 1;
    this.present = new Uint8Array(capacity);
    this.frg = new Uint8Array(capacity);
    this.data = new Array(capacity).fill(null);
  }
}

/** Fragments of the message being assembled, in order (ikcp's rcv_queue before ikcp_recv). */
export class MessageAssembly {
  fragments: Uint8Array[] = [];
  bytes = 0;

  get count(): number {
    return this.fragments.length;
  }

  add(data: Uint8Array): void {
    this.fragments.push(data);
    this.bytes += data.length;
  }

  /** Joins the fragments and resets; the caller adds the last one first. */
  join(): Uint8Array {
    const message = new Uint8Array(this.bytes);
    let at = 0;
    for (const fragment of this.fragments) {
      message.set(fragment, at);
      at += fragment.length;
    }
    this.fragments = [];
    this.bytes = 0;
    return message;
  }

  clear(): number {
    const released = this.bytes;
    this.fragments = [];
    this.bytes = 0;
    return released;
  }
}
