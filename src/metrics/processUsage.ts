/** CPU % of this process between two calls (user + system time over wall time; 100 = one core). */
export class CpuMeter {
  private lastUsage = process.cpuUsage();
  private lastWallUs = performance.now() * 1000;
  private percent = 0;

  /** Call about once a second; returns the percentage over the interval since the last call. */
  sample(): number {
    const usage = process.cpuUsage();
    const wallUs = performance.now() * 1000;
    const cpuUs = usage.user - this.lastUsage.user + (usage.system - this.lastUsage.system);
    const elapsedUs = wallUs - this.lastWallUs;
    if (elapsedUs > 0) this.percent = Math.round((cpuUs / elapsedUs) * 1000) / 10;
    this.lastUsage = usage;
    this.lastWallUs = wallUs;
    return this.percent;
  }

  get lastPercent(): number {
    return this.percent;
  }
}
