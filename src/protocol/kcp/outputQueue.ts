// Datagrams written by one session's flush, waiting for pollTransmit. The control block writes
// straight into the next free slot (`buffer`), so a datagram is copied once, into the
// transport's buffer. Only one session's flush is held at a time, so the slots needed are
// bounded by one flush: a send window of segments plus the ACKs of one turn.
import type { PeerAddress } from "../api.ts";
import type { DatagramSink } from "./controlBlock.ts";

export class OutputQueue implements DatagramSink {
  private slots: Uint8Array[] = [];
  private lengths: number[] = [];
  private head = 0;
  private tail = 0;
  /** Where the datagrams being emitted go. */
  destination: PeerAddress | null = null;
  /** The session whose datagrams these are. */
  session = 0;
  buffer: Uint8Array;

  constructor(private readonly slotBytes: number) {
    this.buffer = this.slotAt(0);
  }

  get pending(): number {
    return this.tail - this.head;
  }

  emit(length: number): void {
    if (length <= 0 || length > this.slotBytes) throw new Error(`OutputQueue.emit: bad length ${length}`);
    this.lengths[this.tail] = length;
    this.tail++;
    this.buffer = this.slotAt(this.tail);
  }

  /** Copies the oldest datagram into `out`; returns its length (0 when none is waiting). */
  take(out: Uint8Array): number {
    if (this.head === this.tail) return 0;
    const length = this.lengths[this.head];
    if (out.length < length) throw new Error(`pollTransmit buffer of ${out.length} bytes is smaller than the KCP MTU (${length})`);
    out.set(this.slots[this.head].subarray(0, length));
    this.head++;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      this.buffer = this.slots[0];
    }
    return length;
  }

  private slotAt(index: number): Uint8Array {
    while (this.slots.length <= index) this.slots.push(new Uint8Array(this.slotBytes));
    return this.slots[index];
  }
}
