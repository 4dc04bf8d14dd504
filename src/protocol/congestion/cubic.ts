// CUBIC, RFC 9438: after a loss the window follows W(t) = C (t - K)^3 + W_max (C = 0.4,
// beta = 0.7, fast convergence), never below the Reno-friendly estimate W_est. Slow start and
// the recovery period are as in RFC 9002.
import type { RttEstimator } from "../recovery/rtt.ts";
import { initialWindowBytes, minimumWindowBytes, windowPacingRate, type CongestionController } from "./controller.ts";

const C = 0.4;
const BETA = 0.7;
const ALPHA_RENO_FRIENDLY = (3 * (1 - BETA)) / (1 + BETA);

export class CubicController implements CongestionController {
  readonly name = "cubic" as const;
  windowBytes: number;
  slowStartThresholdBytes = Infinity;
  recoveryStartUs = -Infinity;
  windowMaxBytes = 0;
  /** Seconds from the epoch start to reach windowMaxBytes again. */
  kSeconds = 0;
  epochStartUs = -1;
  renoEstimateBytes = 0;
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

  /** W_cubic(t) in bytes, t in seconds since the epoch start. */
  cubicWindowBytes(tSeconds: number): number {
    const d = tSeconds - this.kSeconds;
    return C * d * d * d * this.mtuBytes + this.windowMaxBytes;
  }

  onPacketAcked(nowUs: number, bytes: number, timeSentUs: number, rtt: RttEstimator): void {
    if (timeSentUs <= this.recoveryStartUs) return;
    if (this.windowBytes < this.slowStartThresholdBytes) {
      this.windowBytes += bytes;
      return;
    }
    if (this.epochStartUs < 0) this.startEpoch(nowUs);
    const tSeconds = (nowUs - this.epochStartUs) / 1e6;
    const rttSeconds = rtt.smoothedUs / 1e6;
    const cwnd = this.windowBytes;
    let target = this.cubicWindowBytes(tSeconds + rttSeconds);
    target = Math.min(Math.max(target, cwnd), 1.5 * cwnd);
    this.renoEstimateBytes += (ALPHA_RENO_FRIENDLY * this.mtuBytes * bytes) / cwnd;
    if (this.cubicWindowBytes(tSeconds) < this.renoEstimateBytes) this.windowBytes = Math.max(cwnd, this.renoEstimateBytes);
    else this.windowBytes = cwnd + ((target - cwnd) * bytes) / cwnd;
  }

  private startEpoch(nowUs: number): void {
    this.epochStartUs = nowUs;
    const cwnd = this.windowBytes;
    if (cwnd < this.windowMaxBytes) {
      this.kSeconds = Math.cbrt((this.windowMaxBytes - cwnd) / this.mtuBytes / C);
    } else {
      this.kSeconds = 0;
      this.windowMaxBytes = cwnd;
    }
    this.renoEstimateBytes = cwnd;
  }

  private savedWindowBytes = 0;
  private savedThresholdBytes = Infinity;
  private savedWindowMaxBytes = 0;

  undoReduction(): void {
    if (this.savedWindowBytes === 0) return;
    this.windowBytes = Math.max(this.windowBytes, this.savedWindowBytes);
    this.slowStartThresholdBytes = this.savedThresholdBytes;
    this.windowMaxBytes = this.savedWindowMaxBytes;
    this.savedWindowBytes = 0;
    this.recoveryStartUs = -Infinity;
    this.epochStartUs = -1;
  }

  onPacketLost(nowUs: number, _bytes: number, timeSentUs: number, _rtt: RttEstimator): void {
    if (timeSentUs <= this.recoveryStartUs) return;
    this.savedWindowBytes = this.windowBytes;
    this.savedThresholdBytes = this.slowStartThresholdBytes;
    this.savedWindowMaxBytes = this.windowMaxBytes;
    this.recoveryStartUs = nowUs;
    this.epochStartUs = -1;
    const cwnd = this.windowBytes;
    // Fast convergence: release bandwidth to newer flows when the maximum keeps shrinking.
    this.windowMaxBytes = cwnd < this.windowMaxBytes ? (cwnd * (1 + BETA)) / 2 : cwnd;
    this.slowStartThresholdBytes = Math.max(cwnd * BETA, this.minWindowBytes);
    this.windowBytes = this.slowStartThresholdBytes;
  }

  onPersistentCongestion(nowUs: number): void {
    this.savedWindowBytes = 0;
    this.windowBytes = this.minWindowBytes;
    this.recoveryStartUs = nowUs;
    this.epochStartUs = -1;
  }
}
