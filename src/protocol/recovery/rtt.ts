// Round-trip time estimation, RFC 9002 §5 (the RFC 6298 filter: alpha 1/8, beta 1/4), with
// the peer's reported ACK delay subtracted when that does not go below the minimum RTT.

export const INITIAL_RTT_US = 333_000;
/** Timer granularity (RFC 9002 kGranularity). */
export const GRANULARITY_US = 1_000;

export class RttEstimator {
  latestUs = 0;
  smoothedUs = INITIAL_RTT_US;
  varianceUs = INITIAL_RTT_US / 2;
  minUs = Infinity;
  hasSample = false;

  /** `ackDelayUs` is already capped by the caller at the peer's max ACK delay. */
  update(sampleUs: number, ackDelayUs: number): void {
    if (sampleUs < 0) return;
    this.latestUs = sampleUs;
    if (sampleUs < this.minUs) this.minUs = sampleUs;
    if (!this.hasSample) {
      this.hasSample = true;
      this.smoothedUs = sampleUs;
      this.varianceUs = sampleUs / 2;
      return;
    }
    let adjustedUs = sampleUs;
    if (sampleUs >= this.minUs + ackDelayUs) adjustedUs = sampleUs - ackDelayUs;
    const deviationUs = Math.abs(this.smoothedUs - adjustedUs);
    this.varianceUs = 0.75 * this.varianceUs + 0.25 * deviationUs;
    this.smoothedUs = 0.875 * this.smoothedUs + 0.125 * adjustedUs;
  }

  /** RFC 9002 §6.2.1: the probe timeout before backoff. */
  probeTimeoutUs(maxAckDelayUs: number): number {
    // Whole microseconds: deadlines built on it stay integer like engine time.
    return Math.ceil(this.smoothedUs + Math.max(4 * this.varianceUs, GRANULARITY_US) + maxAckDelayUs);
  }
}
