// Connection-level flow control of reliable bytes (docs/PROTOCOL.md §6). Receive side: the
// peer may send up to `advertisedMaxData`, which moves up by a quarter window at a time as
// the application consumes messages (MAX_DATA). Send side: reliable fragments stop at the
// peer's limit; unreliable ones are not counted.
import { invariantFailed } from "../invariant.ts";

export class FlowControl {
  /** The limit we last announced to the peer. */
  private advertised: number;
  private consumedReliableBytes = 0;
  /** A MAX_DATA frame is owed (the limit moved, or the packet that carried it was lost). */
  private maxDataPending = false;
  /** What the peer lets us send in all. */
  private peerLimit = 0;
  private sentReliableBytes = 0;
  /** Distinct reliable payload bytes the peer sent us (each fragment once). */
  private receivedReliableBytes = 0;

  constructor(private readonly receiveWindowBytes: number) {
    this.advertised = receiveWindowBytes;
  }

  get advertisedMaxData(): number {
    return this.advertised;
  }

  get peerMaxData(): number {
    return this.peerLimit;
  }

  /** From the peer's handshake or a MAX_DATA frame; the limit only grows. */
  onPeerMaxData(bytes: number): void {
    if (bytes > this.peerLimit) this.peerLimit = bytes;
  }

  /** Whether `bytes` more reliable bytes fit under the peer's limit. */
  allowsReliable(bytes: number): boolean {
    return this.sentReliableBytes + bytes <= this.peerLimit;
  }

  /** Counts new reliable bytes from the peer; false when they pass the limit we announced. */
  onReliableReceived(bytes: number): boolean {
    this.receivedReliableBytes += bytes;
    return this.receivedReliableBytes <= this.advertised;
  }

  onReliableSent(bytes: number): void {
    this.sentReliableBytes += bytes;
  }

  /** The application took a reliable message; true when a MAX_DATA frame is now owed. */
  onConsumed(bytes: number): boolean {
    this.consumedReliableBytes += bytes;
    const window = this.receiveWindowBytes;
    const maxData = this.consumedReliableBytes + window;
    if (maxData - this.advertised >= window / 4) {
      this.advertised = maxData;
      this.maxDataPending = true;
      return true;
    }
    return false;
  }

  /** The packet that carried MAX_DATA was lost: send the (current) limit again. */
  onMaxDataLost(): void {
    this.maxDataPending = true;
  }

  isMaxDataOwed(): boolean {
    return this.maxDataPending;
  }

  /** Send side within the peer's limit; our announced limit at most one window past what
   *  the application consumed (invariant.ts). */
  checkInvariants(): void {
    if (!(this.sentReliableBytes <= this.peerLimit)) invariantFailed(`reliable bytes sent ${this.sentReliableBytes} > peer limit ${this.peerLimit}`);
    const consumed = this.consumedReliableBytes;
    if (!(this.advertised >= consumed && this.advertised <= consumed + this.receiveWindowBytes)) {
      invariantFailed(`advertised limit ${this.advertised} outside [${consumed}, ${consumed} + window ${this.receiveWindowBytes}]`);
    }
  }

  /** Clears the owed flag; returns the limit to write into the MAX_DATA frame. */
  takeMaxData(): number {
    this.maxDataPending = false;
    return this.advertised;
  }
}
