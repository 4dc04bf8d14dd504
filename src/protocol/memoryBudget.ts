// The endpoint-wide memory budget (issue 13, docs/LIMITS.md): every byte held on behalf of
// peers is counted (send queues, reassembly, undelivered events, what the application reports
// holding, e.g. the example app's echo backlog). Over the budget, sends are refused (the
// application sees backpressure); over it for `graceUs`, the connections holding the most are
// closed as "memory-budget". Per-connection limits stay as they were: this bounds the sum.

/** Shared by every SendQueue of an endpoint: bytes accepted by send() and not yet released. */
export interface SendAccount {
  sendBytesHeld: number;
}

/** What eviction needs of a connection. */
export interface BudgetHolder {
  heldBytes(): number;
  isClosing(): boolean;
}

/** Drains go out once the total is back under this share of the budget (no flapping). */
const DRAIN_AT = 0.75;
/** Eviction closes connections until the total is under this share of the budget. */
const EVICT_TO = 0.9;

export class MemoryBudget implements SendAccount {
  sendBytesHeld = 0;
  applicationBytesHeld = 0;
  /** Since when the total has been over the budget (Infinity: it is not). */
  overSinceUs = Infinity;

  constructor(
    readonly limitBytes: number,
    readonly graceUs: number,
  ) {}

  /** `otherBytes`: reassembly and undelivered events, which the endpoint counts elsewhere. */
  total(otherBytes: number): number {
    return this.sendBytesHeld + this.applicationBytesHeld + otherBytes;
  }

  /** Whether `moreBytes` would take the total over the budget. */
  refuses(otherBytes: number, moreBytes: number): boolean {
    return this.total(otherBytes) + moreBytes > this.limitBytes;
  }

  allowsDrain(otherBytes: number): boolean {
    return this.total(otherBytes) <= this.limitBytes * DRAIN_AT;
  }

  /** Starts or stops the grace clock; returns the eviction deadline (Infinity: none). */
  observe(nowUs: number, otherBytes: number): number {
    if (this.total(otherBytes) <= this.limitBytes) this.overSinceUs = Infinity;
    else if (this.overSinceUs === Infinity) this.overSinceUs = nowUs;
    return this.deadlineUs();
  }

  deadlineUs(): number {
    return this.overSinceUs + this.graceUs;
  }

  /** The connections to close, largest holders first, so that the total falls under
   *  EVICT_TO of the budget once they are gone. Closing ones are on their way out already. */
  victims<T extends BudgetHolder>(holders: readonly T[], otherBytes: number): T[] {
    let excess = this.total(otherBytes) - this.limitBytes * EVICT_TO;
    const open: T[] = [];
    for (const holder of holders) {
      if (holder.isClosing()) excess -= holder.heldBytes(); // released within its closing period
      else if (holder.heldBytes() > 0) open.push(holder);
    }
    open.sort((a, b) => b.heldBytes() - a.heldBytes());
    const chosen: T[] = [];
    for (const holder of open) {
      if (excess <= 0) break;
      chosen.push(holder);
      excess -= holder.heldBytes();
    }
    return chosen;
  }
}
