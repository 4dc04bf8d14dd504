// Replay window (docs/PROTOCOL.md §9.5): an authentic packet whose number was already
// accepted, or that is older than the window, is dropped (and counted by the caller).
// A bitmap over the last WINDOW_PACKETS numbers below the highest accepted, as in
// WireGuard and IPsec (RFC 4303 §3.4.3); constant memory per connection.

export const REPLAY_WINDOW_PACKETS = 1024;
const words = REPLAY_WINDOW_PACKETS / 32;

export type ReplayVerdict = "fresh" | "duplicate" | "too-old";

export class ReplayWindow {
  private highest = -1;
  /** Bit (highest - n) is set when packet n was accepted, for n in (highest - WINDOW, highest]. */
  private readonly seen = new Uint32Array(words);

  /** Checks only: call `accept` after the packet has been authenticated. */
  check(packetNumber: number): ReplayVerdict {
    if (packetNumber > this.highest) return "fresh";
    const age = this.highest - packetNumber;
    if (age >= REPLAY_WINDOW_PACKETS) return "too-old";
    return (this.seen[age >>> 5]! >>> (age & 31)) & 1 ? "duplicate" : "fresh";
  }

  /** Records an authenticated packet number (check() said fresh). */
  accept(packetNumber: number): void {
    if (packetNumber > this.highest) {
      this.shift(this.highest < 0 ? REPLAY_WINDOW_PACKETS : packetNumber - this.highest);
      this.highest = packetNumber;
    }
    const age = this.highest - packetNumber;
    this.seen[age >>> 5]! |= 1 << (age & 31);
  }

  /** Moves every bit `by` places older; bits past the window fall off. */
  private shift(by: number): void {
    if (by >= REPLAY_WINDOW_PACKETS) {
      this.seen.fill(0);
      return;
    }
    const wordShift = by >>> 5;
    const bitShift = by & 31;
    for (let i = words - 1; i >= 0; i--) {
      const from = i - wordShift;
      const low = from >= 0 ? this.seen[from]! : 0;
      const carry = bitShift && from - 1 >= 0 ? this.seen[from - 1]! >>> (32 - bitShift) : 0;
      this.seen[i] = ((low << bitShift) | carry) >>> 0;
    }
  }
}
