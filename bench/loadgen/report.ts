// Human output of the load generator: a progress bar on a TTY (a plain line per second
// otherwise) and the summary table at the end.

import type { RunSummary } from "./results.ts";

export class ProgressDisplay {
  private readonly isTty = process.stderr.isTTY === true;
  private lastLineMs = 0;
  private lastSent = 0;
  private lastReceived = 0;

  constructor(
    private readonly expectedMessages: number,
    private readonly startMs: number,
  ) {}

  update(sent: number, received: number, connected: number): void {
    const nowMs = performance.now();
    if (nowMs - this.lastLineMs < (this.isTty ? 200 : 1000)) return;
    const intervalSeconds = this.lastLineMs === 0 ? 1 : (nowMs - this.lastLineMs) / 1000;
    const rate = Math.round((received - this.lastReceived) / intervalSeconds);
    const sentRate = Math.round((sent - this.lastSent) / intervalSeconds);
    this.lastLineMs = nowMs;
    this.lastSent = sent;
    this.lastReceived = received;
    const elapsed = ((nowMs - this.startMs) / 1000).toFixed(0);
    const text = `${elapsed}s connected ${connected} sent ${sent} (${sentRate}/s) received ${received} (${rate}/s)`;
    if (!this.isTty) {
      console.error(text);
      return;
    }
    const fraction = this.expectedMessages > 0 ? Math.min(1, received / this.expectedMessages) : 0;
    const width = 24;
    const filled = Math.round(fraction * width);
    process.stderr.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${text}\x1b[K`);
  }

  finish(): void {
    if (this.isTty) process.stderr.write("\n");
  }
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

export function formatSummary(summary: RunSummary): string {
  const rtt = summary.rttUs;
  const service = summary.serviceRttUs;
  const server = summary.server;
  const rows: [string, string][] = [
    ["system", summary.system],
    ["connections", `${summary.connections} (${summary.connectFailures} failed) in ${summary.processes} process(es)`],
    ["delivered msg/s", summary.deliveredPerSecond.toLocaleString("en-US")],
    ["goodput MB/s", String(summary.goodputMBps)],
    ["sent / delivered", `${summary.sent} / ${summary.delivered}${summary.notSent ? ` (${summary.notSent} offered but not sent: backpressure)` : ""}`],
    ["lost / duplicated", `${summary.lost} / ${summary.duplicates}${summary.untracked ? ` (untracked ${summary.untracked})` : ""}`],
    ["RTT us (intended send)", `p50 ${rtt.p50}  p90 ${rtt.p90}  p99 ${rtt.p99}  p99.9 ${rtt.p999}  max ${rtt.max}`],
    ["RTT us (actual send)", `p50 ${service.p50}  p90 ${service.p90}  p99 ${service.p99}  p99.9 ${service.p999}  max ${service.max}`],
    ["retransmission ratio", summary.retransmissionRatio === null ? "n/a" : summary.retransmissionRatio.toFixed(4)],
    ["backpressure waits", String(summary.backpressureWaits)],
    ["client CPU % / RSS MB", `${summary.clientCpuPercent} / ${megabytes(summary.clientRssBytes)}`],
    [
      "server CPU % / RSS MB",
      server === null ? "n/a (not spawned)" : `${server.cpuPercent} / ${megabytes(server.rssBytesEnd)} (start ${megabytes(server.rssBytesStart)}, max ${megabytes(server.rssBytesMax)}; ${server.source})`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (summary.errors.length > 0) lines.push(`errors: ${summary.errors.slice(0, 5).join("; ")}`);
  return lines.join("\n");
}
