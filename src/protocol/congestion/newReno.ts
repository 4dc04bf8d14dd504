// NewReno as specified in RFC 9002 §7 and its Appendix B: slow start, a recovery period
// that starts with the first loss and ignores losses of packets sent before it, halving.
import type { RttEstimator } from "../recovery/rtt.ts";
import { initialWindowBytes, minimumWindowBytes, windowPacingRate, type CongestionController } from "./controller.ts";

const LOSS_REDUCTION_FACTOR = 0.5;

export class NewRenoController implements CongestionController {
  readonly name = "newreno" as const;
  windowBytes: number;
  slowStartThresholdBytes = Infinity;
  recoveryStartUs = -Infinity;
  /** Bytes acked in congestion avoidance, not yet turned into window growth. */
  private ackedBytesPending = 0;
  private readonly minWindowBytes: number;

  constructor(private readonly mtuBytes: number) {
    this.windowBytes = initialWindowBytes(mtuBytes);
    this.minWindowBytes = minimumWindowBytes(mtuBytes);
  }

  get inSlowStart(): boolean {
    return this.windowBytes < this.slowStartThresholdBytes;
  }

  onPacketSent(_nowUs: number, _bytes: number, _bytesInFlight: number): void {}

  onAppLimited(_bytesInFlight: number): void {}

  pacingRateBytesPerUs(smoothedRttUs: number): number {
    return windowPacingRate(this.windowBytes, smoothedRttUs);
  }

  onPacketAcked(_nowUs: number, bytes: number, timeSentUs: number, _rtt: RttEstimator): void {
    if (timeSentUs <= this.recoveryStartUs) return; // still in recovery
    if (this.windowBytes < this.slowStartThresholdBytes) {
      this.windowBytes += bytes;
      return;
    }
    // One maximum datagram per window of acknowledged bytes.
    this.ackedBytesPending += bytes;
    if (this.ackedBytesPending >= this.windowBytes) {
      this.ackedBytesPending -= this.windowBytes;
      this.windowBytes += this.mtuBytes;
    }
  }

  private savedWindowBytes = 0;
  private savedThresholdBytes = Infinity;

  undoReduction(): void {
    if (this.savedWindowBytes === 0) return;
    this.windowBytes = Math.max(this.windowBytes, this.savedWindowBytes);
    this.slowStartThresholdBytes = this.savedThresholdBytes;
    this.savedWindowBytes = 0;
    this.recoveryStartUs = -Infinity;
  }

  onPacketLost(nowUs: number, _bytes: number, timeSentUs: number, _rtt: RttEstimator): void {
    if (timeSentUs <= this.recoveryStartUs) return;
    this.savedWindowBytes = this.windowBytes;
    this.savedThresholdBytes = this.slowStartThresholdBytes;
    this.recoveryStartUs = nowUs;
    this.slowStartThresholdBytes = Math.max(this.windowBytes * LOSS_REDUCTION_FACTOR, this.minWindowBytes);
    this.windowBytes = this.slowStartThresholdBytes;
    this.ackedBytesPending = 0;
  }

  onPersistentCongestion(nowUs: number): void {
    this.savedWindowBytes = 0;
    this.windowBytes = this.minWindowBytes;
    this.recoveryStartUs = nowUs;
    this.ackedBytesPending = 0;
  }
}
