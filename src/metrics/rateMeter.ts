/** Per-second rates of monotonically increasing totals, sampled by one ticker. */
export class RateMeter {
  private previous = new Map<string, number>();
  private rates = new Map<string, number>();
  private lastTickMs = performance.now();

  tick(totals: Record<string, number>): void {
    const nowMs = performance.now();
    const seconds = (nowMs - this.lastTickMs) / 1000;
    this.lastTickMs = nowMs;
    if (seconds <= 0) return;
    for (const [name, total] of Object.entries(totals)) {
      const before = this.previous.get(name);
      this.rates.set(name, before === undefined ? 0 : Math.max(0, (total - before) / seconds));
      this.previous.set(name, total);
    }
  }

  rate(name: string): number {
    return Math.round(this.rates.get(name) ?? 0);
  }
}
