// Client (address, connection ID) pairs whose connection ended recently. A copy of such a
// client's INITIAL can still be in flight with a cookie that is valid for cookieLifetimeUs;
// without this memory it would open a second, phantom connection (test/sim/FINDINGS.md 6).
// Entries last one cookie lifetime (after that any cookie the old INITIAL carried has
// expired anyway) and their number is bounded: the oldest is forgotten first, and counted.

export class ClosedClients {
  /** client key -> time the connection ended; Map order is insertion order, oldest first. */
  private readonly closedAtUs = new Map<string, number>();

  constructor(
    private readonly lifetimeUs: number,
    private readonly entriesMax: number,
    private readonly onEvicted: () => void,
  ) {}

  get size(): number {
    return this.closedAtUs.size;
  }

  remember(nowUs: number, clientKey: string): void {
    this.expire(nowUs);
    this.closedAtUs.delete(clientKey);
    if (this.closedAtUs.size >= this.entriesMax) {
      const oldest = this.closedAtUs.keys().next().value as string;
      this.closedAtUs.delete(oldest);
      this.onEvicted();
    }
    this.closedAtUs.set(clientKey, nowUs);
  }

  /** Whether this client's connection ended less than one cookie lifetime ago. */
  has(nowUs: number, clientKey: string): boolean {
    const closedAt = this.closedAtUs.get(clientKey);
    return closedAt !== undefined && nowUs - closedAt < this.lifetimeUs;
  }

  private expire(nowUs: number): void {
    for (const [key, closedAt] of this.closedAtUs) {
      if (nowUs - closedAt < this.lifetimeUs) return;
      this.closedAtUs.delete(key);
    }
  }
}
