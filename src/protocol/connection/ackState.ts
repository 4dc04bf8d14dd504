// What this side owes the peer in acknowledgements (RFC 9000 §13.2): which packet numbers
// arrived, whether an ACK is due at once (a gap, or every second ack-eliciting packet) or
// after the delayed-ACK timer, and how long the largest one waited (the ACK delay field).
import { ReceivedRanges } from "../recovery/ackRanges.ts";
import { MAX_ACK_RANGES, writeAck } from "../wire/frames.ts";

/** type(1) + largest, delay and range count at their widest (8, 8, 1) + one range (8). */
const ACK_FRAME_MIN_ROOM = 1 + 8 + 8 + 1 + 8;

export class AckState {
  readonly received = new ReceivedRanges();
  private elicitingSinceAck = 0;
  /** When a lone ack-eliciting packet's ACK is due (the delayed-ACK timer), or Infinity. */
  private deadlineUs = Infinity;
  private immediate = false;
  private needed = false;
  private largestReceivedTimeUs = 0;

  constructor(private readonly maxAckDelayUs: number) {}

  /** Records an accepted packet; `previousLargest` is the largest before it (-1 if none). */
  onPacketAccepted(nowUs: number, pn: number, previousLargest: number, ackEliciting: boolean): void {
    this.received.insert(pn);
    if (pn > previousLargest) this.largestReceivedTimeUs = nowUs;
    if (!ackEliciting) return; // never ACK an ACK-only packet
    this.needed = true;
    this.elicitingSinceAck++;
    // Reordering or loss (a gap): tell the sender at once; otherwise every second packet.
    if (pn !== previousLargest + 1 || this.elicitingSinceAck >= 2) this.immediate = true;
    else if (this.deadlineUs === Infinity) this.deadlineUs = nowUs + this.maxAckDelayUs;
  }

  /** An ACK frame goes into the next packet whenever one is owed, due or not. */
  isOwed(): boolean {
    return this.needed;
  }

  /** Whether an ACK alone justifies sending a packet now. */
  isDue(nowUs: number): boolean {
    return this.needed && (this.immediate || nowUs >= this.deadlineUs);
  }

  /** The delayed-ACK timer, or Infinity when nothing is owed. */
  timerUs(): number {
    return this.needed ? this.deadlineUs : Infinity;
  }

  onTimeout(nowUs: number): void {
    if (this.needed && nowUs >= this.deadlineUs) this.immediate = true;
  }

  /** Writes the ACK frame at out[p..limit) if it fits; returns the new position. */
  writeFrame(nowUs: number, out: Uint8Array, p: number, limit: number): number {
    const received = this.received;
    if (received.count === 0 || p + ACK_FRAME_MIN_ROOM > limit) return p;
    const ackDelayUs = Math.max(0, Math.floor(nowUs - this.largestReceivedTimeUs));
    p = writeAck(out, p, received.ranges, Math.min(received.count, MAX_ACK_RANGES), ackDelayUs, limit);
    this.needed = false;
    this.immediate = false;
    this.elicitingSinceAck = 0;
    this.deadlineUs = Infinity;
    return p;
  }
}
