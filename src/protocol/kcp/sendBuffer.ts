// ikcp's snd_buf and snd_queue as one ring of segments in parallel typed arrays (no object per
// segment): the first `inFlight` entries have been given sequence numbers (sn = snd_una + i,
// ikcp's snd_buf), the rest wait for the window (ikcp's snd_queue). A segment's payload is a
// range of the message copy that send() made: no copy per segment.

export class SendBuffer {
  private capacity = 0;
  private mask = 0;
  private head = 0;
  /** Segments held: in flight plus queued. */
  count = 0;
  /** The first inFlight segments are ikcp's snd_buf. */
  inFlight = 0;
  /** Payload bytes not yet acknowledged (queued or in flight). */
  bytes = 0;

  frg = new Uint8Array(0);
  ts = new Uint32Array(0);
  resendAtMs = new Float64Array(0);
  rtoMs = new Float64Array(0);
  fastack = new Uint32Array(0);
  xmit = new Uint32Array(0);
  acked = new Uint8Array(0);
  data: (Uint8Array | null)[] = [];
  offset = new Uint32Array(0);
  length = new Uint32Array(0);

  /** Ring index of the i-th segment from the front. */
  slot(i: number): number {
    return (this.head + i) & this.mask;
  }

  get queued(): number {
    return this.count - this.inFlight;
  }

  append(frg: number, data: Uint8Array, offset: number, length: number): void {
    if (this.count === this.capacity) this.grow();
    const s = this.slot(this.count);
    this.frg[s] = frg;
    this.ts[s] = 0;
    this.resendAtMs[s] = 0;
    this.rtoMs[s] = 0;
    this.fastack[s] = 0;
    this.xmit[s] = 0;
    this.acked[s] = 0;
    this.data[s] = data;
    this.offset[s] = offset;
    this.length[s] = length;
    this.count++;
    this.bytes += length;
  }

  /** Marks the in-flight segment at position i acknowledged; returns false if it already was. */
  markAcked(i: number): boolean {
    const s = this.slot(i);
    if (this.acked[s] === 1) return false;
    this.acked[s] = 1;
    this.bytes -= this.length[s];
    this.data[s] = null;
    return true;
  }

  /** Removes the front (in-flight) segment, acknowledged or not. */
  popFront(): void {
    if (this.inFlight <= 0) throw new Error("SendBuffer.popFront: nothing in flight");
    const s = this.head;
    if (this.acked[s] === 0) this.bytes -= this.length[s];
    this.data[s] = null;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    this.inFlight--;
  }

  frontAcked(): boolean {
    return this.inFlight > 0 && this.acked[this.head] === 1;
  }

  /** Drops everything (abortive close): returns the bytes released. */
  clear(): number {
    const released = this.bytes;
    for (let i = 0; i < this.count; i++) this.data[this.slot(i)] = null;
    this.head = 0;
    this.count = 0;
    this.inFlight = 0;
    this.bytes = 0;
    return released;
  }

  private grow(): void {
    const capacity = this.capacity === 0 ? 8 : this.capacity * 2;
    const order = (from: ArrayLike<number>, into: Uint8Array | Uint32Array | Float64Array): void => {
      for (let i = 0; i < this.count; i++) into[i] = from[this.slot(i)];
    };
    const frg = new Uint8Array(capacity);
    const ts = new Uint32Array(capacity);
    const resendAtMs = new Float64Array(capacity);
    const rtoMs = new Float64Array(capacity);
    const fastack = new Uint32Array(capacity);
    const xmit = new Uint32Array(capacity);
    const acked = new Uint8Array(capacity);
    const offset = new Uint32Array(capacity);
    const length = new Uint32Array(capacity);
    order(this.frg, frg);
    order(this.ts, ts);
    order(this.resendAtMs, resendAtMs);
    order(this.rtoMs, rtoMs);
    order(this.fastack, fastack);
    order(this.xmit, xmit);
    order(this.acked, acked);
    order(this.offset, offset);
    order(this.length, length);
    const data: (Uint8Array | null)[] = new Array(capacity).fill(null);
    for (let i = 0; i < this.count; i++) data[i] = this.data[this.slot(i)];
    this.frg = frg;
    this.ts = ts;
    this.resendAtMs = resendAtMs;
    this.rtoMs = rtoMs;
    this.fastack = fastack;
    this.xmit = xmit;
    this.acked = acked;
    this.offset = offset;
    this.length = length;
    this.data = data;
    this.head = 0;
    this.capacity = capacity;
    this.mask = capacity - 1;
  }
}
