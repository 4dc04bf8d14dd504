// "adaptive": a packet-counted controller for lossy links where random loss is not
// congestion. Slow start from 10 packets; AIMD avoidance (+1 packet per RTT); a loss only
// halves the window (beta 0.5, once per recovery period, i.e. fast recovery) when the loss
// rate of the current round exceeds 1%; after clean rounds with a flat RTT it probes the
// network by growing faster (1, 2, 4, 8 packets per RTT). Its own RTT filter uses alpha
// 0.125. The window stays within 2..1000 packets.
import type { RttEstimator } from "../recovery/rtt.ts";
import { windowPacingRate, type CongestionController } from "./controller.ts";

export const ADAPTIVE_WINDOW_PACKETS_MIN = 2;
export const ADAPTIVE_WINDOW_PACKETS_MAX = 1000;
export const ADAPTIVE_WINDOW_PACKETS_INITIAL = 10;
const RTT_ALPHA = 0.125;
const DECREASE_BETA = 0.5;
const LOSS_RATE_THRESHOLD = 0.01;
const CLEAN_ROUNDS_BEFORE_PROBING = 4;
const PROBE_STEP_PACKETS_MAX = 8;
/** Probing only while the smoothed RTT stays within this factor of the minimum (no queue). */
const QUEUE_RTT_FACTOR = 1.5;

export class AdaptiveController implements CongestionController {
  readonly name = "adaptive" as const;
  windowPackets = ADAPTIVE_WINDOW_PACKETS_INITIAL;
  slowStartThresholdPackets = ADAPTIVE_WINDOW_PACKETS_MAX;
  recoveryStartUs = -Infinity;
  smoothedRttUs = 0;
  minRttUs = Infinity;
  roundEndUs = -1;
  roundSent = 0;
  roundLost = 0;
  cleanRounds = 0;
  probeStepPackets = 1;
  private ackedInRound = 0;

  constructor(private readonly mtuBytes: number) {}

  get windowBytes(): number {
    return this.windowPackets * this.mtuBytes;
  }

  get inSlowStart(): boolean {
    return this.windowPackets < this.slowStartThresholdPackets;
  }

  onPacketSent(_nowUs: number, _bytes: number, _bytesInFlight: number): void {
    this.roundSent++;
  }

  onAppLimited(_bytesInFlight: number): void {}

  pacingRateBytesPerUs(smoothedRttUs: number): number {
    return windowPacingRate(this.windowBytes, smoothedRttUs);
  }

  onPacketAcked(nowUs: number, _bytes: number, timeSentUs: number, rtt: RttEstimator): void {
    this.observeRtt(rtt.latestUs);
    if (nowUs >= this.roundEndUs) this.endRound(nowUs);
    if (timeSentUs <= this.recoveryStartUs) return;
    if (this.inSlowStart) {
      this.setWindow(this.windowPackets + 1);
      return;
    }
    this.ackedInRound++;
    if (this.ackedInRound >= this.windowPackets) {
      this.ackedInRound = 0;
      this.setWindow(this.windowPackets + this.probeStepPackets);
    }
  }

  onPacketLost(nowUs: number, _bytes: number, timeSentUs: number, _rtt: RttEstimator): void {
    this.roundLost++;
    const lossRate = this.roundLost / Math.max(this.roundSent, 1);
    if (lossRate <= LOSS_RATE_THRESHOLD || timeSentUs <= this.recoveryStartUs) return;
    this.savedWindowPackets = this.windowPackets;
    this.savedThresholdPackets = this.slowStartThresholdPackets;
    this.recoveryStartUs = nowUs;
    this.slowStartThresholdPackets = Math.max(ADAPTIVE_WINDOW_PACKETS_MIN, Math.floor(this.windowPackets * DECREASE_BETA));
    this.setWindow(this.slowStartThresholdPackets);
    this.cleanRounds = 0;
    this.probeStepPackets = 1;
  }

  private savedWindowPackets = 0;
  private savedThresholdPackets = ADAPTIVE_WINDOW_PACKETS_MAX;

  undoReduction(): void {
    if (this.savedWindowPackets === 0) return;
    this.setWindow(Math.max(this.windowPackets, this.savedWindowPackets));
    this.slowStartThresholdPackets = this.savedThresholdPackets;
    this.savedWindowPackets = 0;
    this.recoveryStartUs = -Infinity;
  }

  onPersistentCongestion(nowUs: number): void {
    this.savedWindowPackets = 0;
    this.recoveryStartUs = nowUs;
    this.setWindow(ADAPTIVE_WINDOW_PACKETS_MIN);
    this.cleanRounds = 0;
    this.probeStepPackets = 1;
  }

  private observeRtt(sampleUs: number): void {
    if (sampleUs <= 0) return;
    if (sampleUs < this.minRttUs) this.minRttUs = sampleUs;
    this.smoothedRttUs = this.smoothedRttUs === 0 ? sampleUs : (1 - RTT_ALPHA) * this.smoothedRttUs + RTT_ALPHA * sampleUs;
  }

  /** A round is one smoothed RTT; its loss count decides probing. */
  private endRound(nowUs: number): void {
    const clean = this.roundLost === 0;
    const queueFree = this.smoothedRttUs <= QUEUE_RTT_FACTOR * this.minRttUs;
    if (clean && queueFree && !this.inSlowStart) {
      this.cleanRounds++;
      if (this.cleanRounds > CLEAN_ROUNDS_BEFORE_PROBING) this.probeStepPackets = Math.min(PROBE_STEP_PACKETS_MAX, this.probeStepPackets * 2);
    } else if (!clean || !queueFree) {
      this.cleanRounds = 0;
      this.probeStepPackets = 1;
    }
    this.roundSent = 0;
    this.roundLost = 0;
    this.roundEndUs = nowUs + Math.max(this.smoothedRttUs, 1);
  }

  private setWindow(packets: number): void {
    this.windowPackets = Math.min(ADAPTIVE_WINDOW_PACKETS_MAX, Math.max(ADAPTIVE_WINDOW_PACKETS_MIN, packets));
  }
}
