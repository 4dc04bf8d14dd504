// Delivery-rate samples (draft-cheng-iccrg-delivery-rate-estimation), for BBR.
//
// Each send records the connection's delivered-bytes count and the time of the last delivery;
// when the packet is acknowledged, the bytes delivered since, over the longer of the send and
// the ACK intervals, is a sample of the bottleneck's rate.
//
// The controller interface names packets by their send time, not their number, so the records
// are kept per distinct send time in a ring ordered by time: packets sent in one transmit pass
// share a time and, no ACK having been processed in between, the same record. An acknowledged
// packet finds its record by binary search. Records older than the oldest packet that can
// still be acknowledged are pruned; the ring has a ceiling, and records pushed out by it are
// counted (their packets give no sample).

const RING_INITIAL = 1024;
const RING_MAX = 1 << 17;

export interface RateSample {
  /** Bytes per microsecond; 0 when the packet gave no sample. */
  rateBytesPerUs: number;
  /** The connection's delivered count when the packet was sent (for round counting). */
  priorDelivered: number;
  /** The packet was sent while the sender had less to send than the network allowed. */
  appLimited: boolean;
}

export class DeliveryRateSampler {
  /** Bytes acknowledged over the connection's life. */
  delivered = 0;
  deliveredTimeUs = 0;
  /** Send time of the most recently acknowledged packet. */
  firstSentTimeUs = 0;
  /** Records pushed out by the ring's ceiling (their packets gave no sample). */
  recordsDropped = 0;
  /** Delivered count below which samples are app-limited (0: not app-limited). */
  private appLimitedUntil = 0;
  private capacity = RING_INITIAL;
  private head = 0;
  private count = 0;
  private sentTimeUs = new Float64Array(RING_INITIAL);
  private deliveredAt = new Float64Array(RING_INITIAL);
  private deliveredTimeAt = new Float64Array(RING_INITIAL);
  private firstSentTimeAt = new Float64Array(RING_INITIAL);
  private appLimitedAt = new Uint8Array(RING_INITIAL);
  readonly sample: RateSample = { rateBytesPerUs: 0, priorDelivered: 0, appLimited: false };

  /** `bytesInFlightBefore`: what was in flight before this packet (0: leaving idle). */
  onPacketSent(nowUs: number, bytesInFlightBefore: number): void {
    if (bytesInFlightBefore === 0) {
      this.firstSentTimeUs = nowUs;
      this.deliveredTimeUs = nowUs;
    }
    const last = this.count > 0 ? this.slot(this.count - 1) : -1;
    if (last >= 0 && this.sentTimeUs[last] === nowUs) return; // same pass, same state
    if (this.count === this.capacity && !this.grow()) {
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      this.recordsDropped++;
    }
    const i = this.slot(this.count++);
    this.sentTimeUs[i] = nowUs;
    this.deliveredAt[i] = this.delivered;
    this.deliveredTimeAt[i] = this.deliveredTimeUs;
    this.firstSentTimeAt[i] = this.firstSentTimeUs;
    this.appLimitedAt[i] = this.appLimitedUntil > this.delivered ? 1 : 0;
  }

  /** The application has nothing more to send: samples until what is in flight is delivered are app-limited. */
  onAppLimited(bytesInFlight: number): void {
    this.appLimitedUntil = Math.max(this.delivered + bytesInFlight, 1);
  }

  /** One packet acknowledged; fills `sample`. */
  onPacketAcked(nowUs: number, bytes: number, timeSentUs: number): RateSample {
    this.delivered += bytes;
    this.deliveredTimeUs = nowUs;
    const sample = this.sample;
    sample.rateBytesPerUs = 0;
    if (this.appLimitedUntil !== 0 && this.delivered >= this.appLimitedUntil) this.appLimitedUntil = 0;
    const k = this.find(timeSentUs);
    if (k < 0) return sample;
    const i = this.slot(k);
    if (timeSentUs > this.firstSentTimeUs) this.firstSentTimeUs = timeSentUs;
    const sendElapsedUs = timeSentUs - this.firstSentTimeAt[i];
    const ackElapsedUs = nowUs - this.deliveredTimeAt[i];
    const intervalUs = Math.max(sendElapsedUs, ackElapsedUs);
    sample.priorDelivered = this.deliveredAt[i];
    sample.appLimited = this.appLimitedAt[i] === 1;
    if (intervalUs > 0) sample.rateBytesPerUs = (this.delivered - this.deliveredAt[i]) / intervalUs;
    return sample;
  }

  /** Forgets records sent before `timeUs` (nothing sent then can still be acknowledged). */
  pruneBefore(timeUs: number): void {
    while (this.count > 1 && this.sentTimeUs[this.head] < timeUs) {
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
  }

  /** Index (0 = oldest) of the record with exactly this send time, or -1. */
  private find(timeUs: number): number {
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const t = this.sentTimeUs[this.slot(middle)];
      if (t === timeUs) return middle;
      if (t < timeUs) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  private slot(k: number): number {
    const i = this.head + k;
    return i >= this.capacity ? i - this.capacity : i;
  }

  private grow(): boolean {
    if (this.capacity >= RING_MAX) return false;
    const capacity = this.capacity * 2;
    const move = <T extends Float64Array | Uint8Array>(from: T, into: T): T => {
      for (let k = 0; k < this.count; k++) into[k] = from[this.slot(k)];
      return into;
    };
    this.sentTimeUs = move(this.sentTimeUs, new Float64Array(capacity));
    this.deliveredAt = move(this.deliveredAt, new Float64Array(capacity));
    this.deliveredTimeAt = move(this.deliveredTimeAt, new Float64Array(capacity));
    this.firstSentTimeAt = move(this.firstSentTimeAt, new Float64Array(capacity));
    this.appLimitedAt = move(this.appLimitedAt, new Uint8Array(capacity));
    this.head = 0;
    this.capacity = capacity;
    return true;
  }
}
