// RFC 9002 §6 ACK processing and the probe timeout with exponential backoff; loss detection
// by time as RACK does it (RFC 8985): a packet is lost once a later-sent packet was
// acknowledged and RTT + an adaptive reordering window (reorderingWindow.ts) has passed;
// the 3-packet threshold applies only until the path has shown reordering. One
// packet-number space: the handshake packets have their own, simpler, retransmission.
import type { FrameReader } from "../wire/frames.ts";
import { ReorderingWindow } from "./reorderingWindow.ts";
import { RttEstimator } from "./rtt.ts";
import { SentFlag, SentPacketRing } from "./sentPackets.ts";

export { PACKET_THRESHOLD } from "./reorderingWindow.ts";
const SKIPPED_REMEMBERED = 16;

/** What loss recovery asks of its connection, per packet (no closures). */
export interface RecoveryHost {
  onPacketAcked(index: number, nowUs: number): void;
  /** A packet that had been declared lost was acknowledged after all. */
  onLostPacketAcked(index: number, nowUs: number): void;
  onPacketLost(index: number, nowUs: number): void;
  /** RFC 9002 §7.6: every packet over a long span was lost. */
  onPersistentCongestion(nowUs: number): void;
}

export const AckVerdict = { ok: 0, violation: 1 } as const;

export class LossDetection {
  readonly rtt = new RttEstimator();
  largestAckedPn = -1;
  /** Earliest time an unacknowledged packet becomes lost by the time threshold. */
  lossTimeUs = Infinity;
  ptoCount = 0;
  lastAckElicitingSentUs = -Infinity;
  bytesInFlight = 0;
  ackElicitingInFlight = 0;
  spuriousLosses = 0;
  /** Widened by reordering and spurious losses (RACK). */
  readonly reordering = new ReorderingWindow();
  /** The last packet numbers skipped on purpose: an ACK covering one is forged. */
  private readonly skippedPns = new Float64Array(SKIPPED_REMEMBERED).fill(-1);
  private skippedNext = 0;

  constructor(
    readonly sent: SentPacketRing,
  ) {}

  /** The peer's announced max ACK delay (its transport parameter, PROTOCOL.md §3): what it may
   *  add before acknowledging, so part of every PTO; 0 until the handshake tells it. */
  peerMaxAckDelayUs = 0;

  probeTimeoutUs(): number {
    return this.rtt.probeTimeoutUs(this.peerMaxAckDelayUs);
  }

  onPacketSent(nowUs: number, flags: number): void {
    if ((flags & SentFlag.ackEliciting) !== 0) {
      this.lastAckElicitingSentUs = nowUs;
      this.ackElicitingInFlight++;
    }
  }

  /** RTT + reordering window: how long after sending an overtaken packet becomes lost. */
  lossDelayUs(): number {
    const rtt = this.rtt;
    return this.reordering.lossDelayUs(rtt.latestUs, rtt.smoothedUs, rtt.minUs);
  }

  recordSkipped(pn: number): void {
    this.skippedPns[this.skippedNext] = pn;
    this.skippedNext = (this.skippedNext + 1) % SKIPPED_REMEMBERED;
  }

  private coversSkipped(frame: FrameReader): boolean {
    const ranges = frame.ackRanges;
    const smallest = ranges[frame.ackRangeCount * 2 - 1];
    for (let k = 0; k < SKIPPED_REMEMBERED; k++) {
      const pn = this.skippedPns[k];
      if (pn < smallest || pn > frame.ackLargest) continue;
      for (let r = 0; r < frame.ackRangeCount; r++) if (pn <= ranges[r * 2] && pn >= ranges[r * 2 + 1]) return true;
    }
    return false;
  }

  /** Applies one ACK frame. Returns `violation` for an ACK of a packet never sent or skipped. */
  onAck(nowUs: number, frame: FrameReader, host: RecoveryHost): number {
    const sent = this.sent;
    const largest = frame.ackLargest;
    if (largest >= sent.nextPn() || this.coversSkipped(frame)) return AckVerdict.violation;
    let newlyAcked = false;
    let largestNewlyAckedElicitingTimeUs = -1;
    const largestAckedBefore = this.largestAckedPn;
    const ranges = frame.ackRanges;
    const lastPn = sent.nextPn() - 1;
    for (let r = 0; r < frame.ackRangeCount; r++) {
      const high = Math.min(ranges[r * 2], lastPn);
      const low = Math.max(ranges[r * 2 + 1], sent.firstPn);
      for (let pn = high; pn >= low; pn--) {
        const i = sent.indexOf(pn);
        const flags = sent.flags[i];
        if ((flags & SentFlag.skipped) !== 0) return AckVerdict.violation;
        if ((flags & SentFlag.acked) !== 0) continue;
        sent.flags[i] = flags | SentFlag.acked;
        newlyAcked = true;
        if (pn === largest && (flags & SentFlag.ackEliciting) !== 0) largestNewlyAckedElicitingTimeUs = sent.timeSentUs[i];
        if ((flags & SentFlag.lost) !== 0) {
          this.spuriousLosses++;
          this.reordering.onSpuriousLoss(nowUs, this.rtt.smoothedUs);
          host.onLostPacketAcked(i, nowUs);
          continue;
        }
        if (pn < largestAckedBefore) this.reordering.onReordering(); // overtaken, yet delivered
        if ((flags & SentFlag.inFlight) !== 0) this.bytesInFlight -= sent.sizeBytes[i];
        if ((flags & SentFlag.ackEliciting) !== 0) this.ackElicitingInFlight--;
        host.onPacketAcked(i, nowUs);
      }
    }
    if (!newlyAcked) return AckVerdict.ok;
    if (largest > this.largestAckedPn) this.largestAckedPn = largest;
    if (largestNewlyAckedElicitingTimeUs >= 0) {
      this.rtt.update(nowUs - largestNewlyAckedElicitingTimeUs, Math.min(frame.ackDelayUs, this.peerMaxAckDelayUs));
    }
    this.detectLost(nowUs, host);
    this.ptoCount = 0;
    this.popResolved(nowUs);
    return AckVerdict.ok;
  }

  detectLost(nowUs: number, host: RecoveryHost): void {
    const sent = this.sent;
    this.lossTimeUs = Infinity;
    if (this.largestAckedPn < sent.firstPn) return;
    const lossDelayUs = this.lossDelayUs();
    const packetThreshold = this.reordering.packetThreshold();
    let declared = false;
    const end = Math.min(this.largestAckedPn, sent.nextPn() - 1);
    // A run of lost ack-eliciting packets with no acknowledged one in between (RFC 9002 §7.6).
    let runStartUs = -1;
    let persistent = false;
    const persistentSpanUs = this.rtt.hasSample ? 3 * this.probeTimeoutUs() : Infinity;
    for (let pn = sent.firstPn; pn < end; pn++) {
      const i = sent.indexOf(pn);
      const flags = sent.flags[i];
      if ((flags & SentFlag.acked) !== 0) {
        if ((flags & SentFlag.ackEliciting) !== 0) runStartUs = -1;
        continue;
      }
      if ((flags & (SentFlag.lost | SentFlag.skipped)) !== 0) continue;
      const timeSentUs = sent.timeSentUs[i];
      // The same expression as the deadline below: with fractional microseconds,
      // `timeSentUs <= nowUs - delay` can stay false at `nowUs === timeSentUs + delay` (a livelock).
      if (timeSentUs + lossDelayUs <= nowUs || this.largestAckedPn - pn >= packetThreshold) {
        sent.flags[i] = flags | SentFlag.lost;
        declared = true;
        if ((flags & SentFlag.inFlight) !== 0) this.bytesInFlight -= sent.sizeBytes[i];
        if ((flags & SentFlag.ackEliciting) !== 0) {
          this.ackElicitingInFlight--;
          if (runStartUs < 0) runStartUs = timeSentUs;
          else if (timeSentUs - runStartUs > persistentSpanUs) persistent = true;
        }
        host.onPacketLost(i, nowUs);
      } else {
        runStartUs = -1;
        if (timeSentUs + lossDelayUs < this.lossTimeUs) this.lossTimeUs = timeSentUs + lossDelayUs;
      }
    }
    if (declared) this.reordering.onLossDeclared(nowUs, this.rtt.smoothedUs);
    if (persistent) host.onPersistentCongestion(nowUs);
  }

  /** Lost packets stay recorded for the loss delay and one PTO more, long enough to see a
   *  late ACK as spurious even when the reordering window has grown to an RTT. */
  popResolved(nowUs: number): void {
    this.sent.popResolved(nowUs - this.lossDelayUs() - this.probeTimeoutUs());
  }

  /** The loss-detection timer: the time threshold if armed, else the PTO. */
  timerUs(): number {
    if (this.lossTimeUs !== Infinity) return this.lossTimeUs;
    if (this.ackElicitingInFlight === 0) return Infinity;
    return this.lastAckElicitingSentUs + this.probeTimeoutUs() * 2 ** Math.min(this.ptoCount, 16);
  }

  /** Returns true when the timer was a PTO (the caller must send probes). */
  onTimeout(nowUs: number, host: RecoveryHost): boolean {
    if (this.lossTimeUs !== Infinity) {
      if (nowUs < this.lossTimeUs) return false;
      this.detectLost(nowUs, host);
      this.popResolved(nowUs);
      return false;
    }
    if (nowUs < this.timerUs()) return false;
    this.ptoCount++;
    return true;
  }
}
