// Open-loop pacing (wrk2 style): message k is due at startUs + k * intervalUs whatever happened
// before it. The sender sends everything due; if it falls behind (a stall, backpressure),
// the late messages still carry their INTENDED send time, so the latency they report includes
// the time they should have been waiting: coordinated omission is corrected, not hidden.

export class OpenLoopScheduler {
  readonly intervalUs: number;
  private nextIndex = 0;

  constructor(
    readonly ratePerSecond: number,
    readonly startUs: number,
    /** Messages in total; the schedule ends after this many. */
    readonly totalMessages: number,
  ) {
    if (!(ratePerSecond > 0)) throw new Error("rate must be > 0");
    this.intervalUs = 1_000_000 / ratePerSecond;
  }

  get sentCount(): number {
    return this.nextIndex;
  }

  get finished(): boolean {
    return this.nextIndex >= this.totalMessages;
  }

  /** Intended send time of the next message, or Infinity when the schedule is done. */
  nextDueUs(): number {
    return this.finished ? Infinity : this.startUs + this.nextIndex * this.intervalUs;
  }

  /** Number of messages due at `nowUs` that were not yet taken, capped at `limit`. */
  dueCount(nowUs: number, limit: number): number {
    if (nowUs < this.startUs) return 0;
    const dueTotal = Math.min(this.totalMessages, Math.floor((nowUs - this.startUs) / this.intervalUs) + 1);
    return Math.max(0, Math.min(limit, dueTotal - this.nextIndex));
  }

  /** Intended send time of the next message; advances the schedule. */
  take(): number {
    const intendedUs = this.startUs + this.nextIndex * this.intervalUs;
    this.nextIndex++;
    return intendedUs;
  }
}
