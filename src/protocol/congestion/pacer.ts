// Token-bucket pacer (RFC 9002 §7.7): tokens refill at 1.25 * window / smoothed RTT, the
// bucket holds a small burst, and a packet waits until the bucket holds its size. The
// connection reports the refill deadline through pollTimeout, so bursts are spread in time.

const PACING_GAIN = 1.25;
const BURST_PACKETS = 10;

export class Pacer {
  private tokensBytes: number;
  private lastRefillUs = -1;
  /** Bytes per microsecond; recomputed from the window and RTT before each decision. */
  private rateBytesPerUs = Infinity;
  private capacityBytes: number;

  constructor(private readonly mtuBytes: number) {
    this.capacityBytes = BURST_PACKETS * mtuBytes;
    this.tokensBytes = this.capacityBytes;
  }

  setRate(windowBytes: number, smoothedRttUs: number): void {
    this.rateBytesPerUs = (PACING_GAIN * windowBytes) / Math.max(smoothedRttUs, 1);
    this.capacityBytes = Math.max(2 * this.mtuBytes, Math.min(BURST_PACKETS * this.mtuBytes, windowBytes));
  }

  private refill(nowUs: number): void {
    if (this.lastRefillUs >= 0 && nowUs > this.lastRefillUs) {
      this.tokensBytes = Math.min(this.capacityBytes, this.tokensBytes + (nowUs - this.lastRefillUs) * this.rateBytesPerUs);
    }
    this.lastRefillUs = nowUs;
  }

  /** 0 if a packet of `bytes` may go now, else the time (us) when it may. */
  delayUntilUs(nowUs: number, bytes: number): number {
    this.refill(nowUs);
    if (this.tokensBytes >= bytes) return 0;
    return nowUs + Math.ceil((bytes - this.tokensBytes) / this.rateBytesPerUs);
  }

  onPacketSent(nowUs: number, bytes: number): void {
    this.refill(nowUs);
    this.tokensBytes = Math.max(0, this.tokensBytes - bytes);
  }
}
