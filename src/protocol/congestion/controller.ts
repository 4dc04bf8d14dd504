// The one interface every congestion controller implements. The connection calls it per
// packet from its loss-recovery code; a controller only moves `windowBytes`.
import type { CongestionControlName } from "../api.ts";
import type { RttEstimator } from "../recovery/rtt.ts";

export interface CongestionController {
  readonly name: CongestionControlName;
  /** Bytes the sender may have in flight. */
  windowBytes: number;
  readonly inSlowStart: boolean;
  /** `bytesInFlight` includes this packet. */
  onPacketSent(nowUs: number, bytes: number, bytesInFlight: number): void;
  /** The sender had nothing to send with this much in flight (not window-limited). */
  onAppLimited(bytesInFlight: number): void;
  /** Bytes per microsecond the pacer may send at. */
  pacingRateBytesPerUs(smoothedRttUs: number): number;
  onPacketAcked(nowUs: number, bytes: number, timeSentUs: number, rtt: RttEstimator): void;
  /** Each lost packet; the controller reacts once per round trip (recovery period). */
  onPacketLost(nowUs: number, bytes: number, timeSentUs: number, rtt: RttEstimator): void;
  /** RFC 9002 §7.6: collapse to the minimum window. */
  onPersistentCongestion(nowUs: number): void;
  /** A loss turned out spurious (the packet was acknowledged later): undo the last reduction. */
  undoReduction(): void;
}

/** RFC 9002 §7.7: loss-based controllers pace at 1.25 x window / smoothed RTT. */
export const PACING_GAIN = 1.25;

export function windowPacingRate(windowBytes: number, smoothedRttUs: number): number {
  return (PACING_GAIN * windowBytes) / Math.max(smoothedRttUs, 1);
}

/** RFC 9002 §7.2: min(10 * mss, max(14720, 2 * mss)). */
export function initialWindowBytes(mtuBytes: number): number {
  return Math.min(10 * mtuBytes, Math.max(14720, 2 * mtuBytes));
}

export function minimumWindowBytes(mtuBytes: number): number {
  return 2 * mtuBytes;
}
