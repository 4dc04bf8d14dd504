import { createHistogram, decodeHistogram, summarize, type Histogram } from "./histogram.ts";
import { sumRttBuckets } from "./rttBuckets.ts";
import type { DistributionSummary, StatsSnapshot } from "./statsSchema.ts";

/** What each worker hands the primary: its snapshot and its histograms, compressed. */
export interface WorkerReport {
  snapshot: StatsSnapshot;
  histograms: Record<"rttUs" | "rttUsSinceStart" | "congestionWindowBytes" | "bytesInFlight", string>;
}

const sumCounts = (parts: Record<string, number>[]): Record<string, number> => {
  const sum: Record<string, number> = {};
  for (const part of parts) for (const [key, value] of Object.entries(part)) sum[key] = (sum[key] ?? 0) + value;
  return sum;
};

function mergedSummary(reports: WorkerReport[], key: keyof WorkerReport["histograms"]): DistributionSummary {
  const merged: Histogram = createHistogram();
  for (const report of reports) if (report.histograms[key]) merged.add(decodeHistogram(report.histograms[key]));
  return summarize(merged);
}

/** Sums counters and rates over workers; percentiles come from merged histograms, never averaged. */
export function aggregateReports(reports: WorkerReport[], primary: { workers: number; pid: number; cpuPercent: number; rssBytes: number }): StatsSnapshot {
  const snapshots = reports.map((report) => report.snapshot);
  const first = snapshots[0]!;
  const sum = (read: (s: StatsSnapshot) => number) => snapshots.reduce((total, s) => total + read(s), 0);
  const rates = (read: (s: StatsSnapshot) => { total: number; perSecond: number }) => ({
    total: sum((s) => read(s).total),
    perSecond: sum((s) => read(s).perSecond),
  });
  const packetsSent = sum((s) => s.loss.ackElicitingPacketsSent);
  const lost = sum((s) => s.loss.packetsLost);
  const retransmitted = sum((s) => s.loss.packetsRetransmitted);
  return {
    ...first,
    timestampMs: Date.now(),
    pid: primary.pid,
    workers: primary.workers,
    messages: { received: rates((s) => s.messages.received), sent: rates((s) => s.messages.sent) },
    bytes: { received: rates((s) => s.bytes.received), sent: rates((s) => s.bytes.sent) },
    packets: {
      received: rates((s) => s.packets.received),
      sent: rates((s) => s.packets.sent),
      perSystemCall: snapshots.length ? sum((s) => s.packets.perSystemCall) / snapshots.length : 0,
    },
    rttUs: mergedSummary(reports, "rttUs"),
    rttUsSinceStart: mergedSummary(reports, "rttUsSinceStart"),
    rttBucketsSinceStart: sumRttBuckets(snapshots.map((s) => s.rttBucketsSinceStart)),
    connections: {
      active: sum((s) => s.connections.active),
      opened: sum((s) => s.connections.opened),
      closedByReason: sumCounts(snapshots.map((s) => s.connections.closedByReason)),
    },
    handshakes: {
      completed: sum((s) => s.handshakes.completed),
      failedByReason: sumCounts(snapshots.map((s) => s.handshakes.failedByReason)),
    },
    loss: {
      ackElicitingPacketsSent: packetsSent,
      packetsLost: lost,
      packetsRetransmitted: retransmitted,
      framesRetransmitted: sum((s) => s.loss.framesRetransmitted),
      spuriousRetransmissions: sum((s) => s.loss.spuriousRetransmissions),
      lossRate: packetsSent > 0 ? lost / packetsSent : 0,
      retransmissionRate: packetsSent > 0 ? retransmitted / packetsSent : 0,
    },
    drops: sumCounts(snapshots.map((s) => s.drops)),
    limitRefusals: sumCounts(snapshots.map((s) => s.limitRefusals)),
    congestionWindowBytes: mergedSummary(reports, "congestionWindowBytes"),
    bytesInFlight: mergedSummary(reports, "bytesInFlight"),
    process: {
      rssBytes: primary.rssBytes + sum((s) => s.process.rssBytes),
      heapUsedBytes: sum((s) => s.process.heapUsedBytes),
      cpuPercent: Math.round((primary.cpuPercent + sum((s) => s.process.cpuPercent)) * 10) / 10,
    },
    pool: first.pool.map((poolClass, index) => ({
      sizeBytes: poolClass.sizeBytes,
      inUse: sum((s) => s.pool[index]?.inUse ?? 0),
      free: sum((s) => s.pool[index]?.free ?? 0),
      highWater: sum((s) => s.pool[index]?.highWater ?? 0),
      refused: sum((s) => s.pool[index]?.refused ?? 0),
    })),
  };
}
