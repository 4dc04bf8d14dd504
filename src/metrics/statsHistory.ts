import type { StatsSnapshot } from "./statsSchema.ts";

/**
 * The last `capacity` snapshots, one a second, so a dashboard opened now starts with the
 * server's recent past instead of empty charts. A ring: memory stays bounded.
 */
export class StatsHistory {
  private readonly ring: StatsSnapshot[] = [];
  private next = 0;
  /** Samples that failed (a worker not answering): counted, not thrown. */
  samplesFailed = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`history capacity must be a non-negative integer (got ${capacity})`);
  }

  push(snapshot: StatsSnapshot): void {
    if (this.capacity === 0) return;
    if (this.ring.length < this.capacity) this.ring.push(snapshot);
    else this.ring[this.next] = snapshot;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  list(): StatsSnapshot[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
