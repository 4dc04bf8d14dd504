import type { EndpointSample, EngineCounters } from "../runtime/endpointSample.ts";
import { createHistogram, encodeHistogram, summarize, type Histogram } from "./histogram.ts";
import { CpuMeter } from "./processUsage.ts";
import { RateMeter } from "./rateMeter.ts";
import { RttBucketCounter } from "./rttBuckets.ts";
import type { StatsSnapshot } from "./statsSchema.ts";
import type { WorkerReport } from "./aggregate.ts";

export interface CollectorSource {
  /** The running endpoint's sample, or null before listen / after close. */
  sample(): EndpointSample | null;
  workers: number;
  /** Where the server listens (read at each snapshot: the port is known only after listen). */
  listen(): { host: string; port: number };
}

const TICK_MS = 1000;
/** Connections sampled for the congestion-window distribution per snapshot. */
const CONNECTIONS_SAMPLED_MAX = 20_000;

/**
 * Measures everything /stats and /metrics report. RTT samples go into HDR histograms (one
 * since start, one per one-second window); rates come from counter deltas once a second;
 * CPU from process.cpuUsage; memory from process.memoryUsage.
 */
export class MetricsCollector {
  readonly rttSinceStart: Histogram = createHistogram();
  private rttWindow: Histogram = createHistogram();
  private rttLastWindow: Histogram = createHistogram();
  private readonly rttBuckets = new RttBucketCounter();
  private readonly cpu = new CpuMeter();
  private readonly rates = new RateMeter();
  private readonly startedAtMs = performance.now();
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(private readonly source: CollectorSource) {
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
  }

  readonly recordRtt = (rttUs: number): void => {
    const value = Math.max(1, Math.round(rttUs));
    this.rttSinceStart.recordValue(value);
    this.rttWindow.recordValue(value);
    this.rttBuckets.record(value);
  };

  private tick(): void {
    this.rates.tick(this.totals());
    this.cpu.sample();
    const finished = this.rttWindow;
    this.rttWindow = this.rttLastWindow;
    this.rttWindow.reset();
    this.rttLastWindow = finished;
  }

  private totals(): Record<string, number> {
    const sample = this.source.sample();
    if (!sample) return {};
    const engine = sample.engineCounters;
    const driver = sample.driverCounters;
    return {
      messagesReceived: engine.messagesReceived,
      messagesSent: engine.messagesSent,
      bytesReceived: driver.bytesReceived,
      bytesSent: driver.bytesSent,
      packetsReceived: driver.datagramsReceived,
      packetsSent: driver.datagramsSent,
    };
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  snapshot(): StatsSnapshot {
    return this.measure(this.congestionDistributions(this.source.sample()));
  }

  /** The snapshot, from congestion-window histograms the caller already built. */
  private measure(windows: { congestionWindow: Histogram; inFlight: Histogram }): StatsSnapshot {
    const sample = this.source.sample();
    const engine = sample?.engineCounters;
    const driver = sample?.driverCounters;
    const totals = this.totals();
    const rates = this.rates;
    const memory = process.memoryUsage();
    const sendCalls = driver?.systemCallsSend ?? 0;
    return {
      timestampMs: Date.now(),
      uptimeSeconds: Math.round((performance.now() - this.startedAtMs) / 100) / 10,
      pid: process.pid,
      workers: this.source.workers,
      driver: sample?.driverKind ?? "fallback",
      checksumKernel: sample?.checksumKernel ?? "none",
      numaNode: sample?.numaNode ?? null,
      listen: this.source.listen(),
      messages: {
        received: { total: totals.messagesReceived ?? 0, perSecond: rates.rate("messagesReceived") },
        sent: { total: totals.messagesSent ?? 0, perSecond: rates.rate("messagesSent") },
      },
      bytes: {
        received: { total: totals.bytesReceived ?? 0, perSecond: rates.rate("bytesReceived") },
        sent: { total: totals.bytesSent ?? 0, perSecond: rates.rate("bytesSent") },
      },
      packets: {
        received: { total: totals.packetsReceived ?? 0, perSecond: rates.rate("packetsReceived") },
        sent: { total: totals.packetsSent ?? 0, perSecond: rates.rate("packetsSent") },
        perSystemCall: sendCalls > 0 ? Math.round(((driver?.datagramsSent ?? 0) / sendCalls) * 100) / 100 : 0,
      },
      rttUs: summarize(this.rttLastWindow),
      rttUsSinceStart: summarize(this.rttSinceStart),
      rttBucketsSinceStart: this.rttBuckets.read(),
      connections: {
        active: engine?.connectionsActive ?? 0,
        opened: engine?.connectionsOpened ?? 0,
        closedByReason: { ...(engine?.connectionsClosed ?? {}) },
      },
      handshakes: { completed: engine?.handshakesCompleted ?? 0, failedByReason: { ...(engine?.handshakesFailed ?? {}) } },
      loss: lossFigures(engine),
      drops: mergeCounts(engine?.drops, driver?.drops),
      limitRefusals: { ...(engine?.limitRefusals ?? {}) },
      congestionWindowBytes: summarize(windows.congestionWindow),
      bytesInFlight: summarize(windows.inFlight),
      process: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, cpuPercent: this.cpu.lastPercent },
      pool: sample?.poolStats() ?? [],
    };
  }

  /** This process's snapshot with its histograms, compressed: what a worker hands the primary. */
  workerReport(): WorkerReport {
    // One pass over the connections serves both the snapshot and the encoded histograms.
    const windows = this.congestionDistributions(this.source.sample());
    const snapshot = this.measure(windows);
    return {
      snapshot,
      histograms: {
        rttUs: encodeHistogram(this.rttLastWindow),
        rttUsSinceStart: encodeHistogram(this.rttSinceStart),
        congestionWindowBytes: encodeHistogram(windows.congestionWindow),
        bytesInFlight: encodeHistogram(windows.inFlight),
      },
    };
  }

  private congestionDistributions(sample: EndpointSample | null): { congestionWindow: Histogram; inFlight: Histogram } {
    const congestionWindow = createHistogram();
    const inFlight = createHistogram();
    sample?.visitCongestionWindows(CONNECTIONS_SAMPLED_MAX, (congestionWindowBytes, bytesInFlight) => {
      congestionWindow.recordValue(Math.max(1, Math.round(congestionWindowBytes)));
      inFlight.recordValue(Math.max(0, Math.round(bytesInFlight)));
    });
    return { congestionWindow, inFlight };
  }
}

function lossFigures(engine: EngineCounters | undefined): StatsSnapshot["loss"] {
  // Over ack-eliciting packets: ACK-only packets are never lost or retransmitted, so counting
  // them would make both ratios look better than they are.
  const sent = engine?.ackElicitingPacketsSent ?? 0;
  const lost = engine?.packetsLost ?? 0;
  const retransmitted = engine?.packetsRetransmitted ?? 0;
  return {
    ackElicitingPacketsSent: sent,
    packetsLost: lost,
    packetsRetransmitted: retransmitted,
    framesRetransmitted: engine?.framesRetransmitted ?? 0,
    spuriousRetransmissions: engine?.spuriousRetransmissions ?? 0,
    lossRate: sent > 0 ? lost / sent : 0,
    retransmissionRate: sent > 0 ? retransmitted / sent : 0,
  };
}

function mergeCounts(...sources: (Record<string, number> | undefined)[]): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const source of sources) {
    if (!source) continue;
    for (const [key, value] of Object.entries(source)) merged[key] = (merged[key] ?? 0) + value;
  }
  return merged;
}
