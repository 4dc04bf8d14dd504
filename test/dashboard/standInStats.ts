// A stand-in for the server's metrics: the real metrics HTTP server (startMetricsServer) over a
// StatsSnapshot that changes every second like a loaded server's would. It lets the dashboard
// be tested where the protocol engine cannot run, and covers fields a small real load leaves at
// zero (loss, closes by reason, drops, pool refusals).
import { startMetricsServer } from "../../src/metrics/httpServer.ts";
import { RttBucketCounter } from "../../src/metrics/rttBuckets.ts";
import type { DistributionSummary, RttBuckets, StatsSnapshot } from "../../src/metrics/statsSchema.ts";

/** `count` samples spread over 30..300 µs, in the real bucket counter. */
function standInRttBuckets(count: number): RttBuckets {
  const counter = new RttBucketCounter();
  for (let index = 0; index < Math.min(count, 1000); index++) counter.record(30 + (index % 10) * 30);
  return counter.read();
}

function distribution(p50: number, spread: number, count: number): DistributionSummary {
  return {
    count,
    min: Math.round(p50 / spread),
    mean: Math.round(p50 * 1.1),
    p50: Math.round(p50),
    p90: Math.round(p50 * spread * 0.6),
    p95: Math.round(p50 * spread * 0.8),
    p99: Math.round(p50 * spread),
    p999: Math.round(p50 * spread * 1.7),
    max: Math.round(p50 * spread * 2),
  };
}

/** Totals advance by the rates of each one-second window, as the collector's do. */
export class StandInStats {
  private readonly startedAtMs = Date.now();
  private second = 0;
  private totals = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, lost: 0, retransmitted: 0 };
  private rates = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };

  /** The snapshot for now; advances the one-second windows that have completed since start. */
  snapshot(nowMs = Date.now()): StatsSnapshot {
    const elapsedSeconds = Math.floor((nowMs - this.startedAtMs) / 1000);
    // Bounded catch-up: a stalled caller does not make this loop long.
    for (let steps = 0; this.second < elapsedSeconds && steps < 600; steps++) this.advanceOneSecond();
    const t = this.second;
    const active = 40 + Math.round(10 * Math.sin(t / 5));
    const sent = this.totals.packetsOut;
    return {
      timestampMs: nowMs,
      uptimeSeconds: Math.round((nowMs - this.startedAtMs) / 100) / 10,
      pid: process.pid,
      workers: 2,
      driver: "native",
      checksumKernel: "vpclmulqdq-avx512",
      numaNode: 0,
      listen: { host: "127.0.0.1", port: 4433 },
      messages: {
        received: { total: this.totals.messagesIn, perSecond: this.rates.messagesIn },
        sent: { total: this.totals.messagesOut, perSecond: this.rates.messagesOut },
      },
      bytes: {
        received: { total: this.totals.bytesIn, perSecond: this.rates.bytesIn },
        sent: { total: this.totals.bytesOut, perSecond: this.rates.bytesOut },
      },
      packets: {
        received: { total: this.totals.packetsIn, perSecond: this.rates.packetsIn },
        sent: { total: sent, perSecond: this.rates.packetsOut },
        perSystemCall: 12.5,
      },
      rttUs: distribution(45 + 10 * Math.sin(t / 3), 4, this.rates.messagesIn),
      rttUsSinceStart: distribution(48, 5, this.totals.messagesIn),
      rttBucketsSinceStart: standInRttBuckets(this.totals.messagesIn),
      connections: { active, opened: 60 + t, closedByReason: { graceful: 20 + t - (active - 40), "idle-timeout": 3 } },
      handshakes: { completed: 60 + t, failedByReason: { "server-full": 1 } },
      loss: {
        ackElicitingPacketsSent: this.totals.packetsOut,
        packetsLost: this.totals.lost,
        packetsRetransmitted: this.totals.retransmitted,
        framesRetransmitted: this.totals.retransmitted * 2,
        spuriousRetransmissions: Math.floor(this.totals.retransmitted / 10),
        lossRate: sent > 0 ? this.totals.lost / sent : 0,
        retransmissionRate: sent > 0 ? this.totals.retransmitted / sent : 0,
      },
      drops: { "bad-checksum": 2, "unknown-connection": 5 },
      limitRefusals: { "send-buffer-full": 7 },
      congestionWindowBytes: distribution(64_000 + 8000 * Math.sin(t / 4), 3, active),
      bytesInFlight: distribution(12_000, 3, active),
      process: { rssBytes: 90_000_000 + t * 50_000, heapUsedBytes: 20_000_000, cpuPercent: 35 + 10 * Math.sin(t / 6) },
      pool: [
        { sizeBytes: 2048, inUse: 300 + (t % 50), free: 3796 - (t % 50), highWater: 420, refused: 0 },
        { sizeBytes: 65536, inUse: 12, free: 52, highWater: 64, refused: 3 },
      ],
    };
  }

  private advanceOneSecond(): void {
    this.second++;
    const t = this.second;
    const messages = Math.round(20_000 + 6000 * Math.sin(t / 7));
    this.rates = {
      messagesIn: messages,
      messagesOut: messages,
      bytesIn: messages * 100,
      bytesOut: messages * 100,
      packetsIn: Math.round(messages / 4),
      packetsOut: Math.round(messages / 4),
    };
    this.totals.messagesIn += this.rates.messagesIn;
    this.totals.messagesOut += this.rates.messagesOut;
    this.totals.bytesIn += this.rates.bytesIn;
    this.totals.bytesOut += this.rates.bytesOut;
    this.totals.packetsIn += this.rates.packetsIn;
    this.totals.packetsOut += this.rates.packetsOut;
    this.totals.lost += Math.round(this.rates.packetsOut * (0.002 + 0.002 * Math.sin(t / 4)));
    this.totals.retransmitted += Math.round(this.rates.packetsOut * (0.003 + 0.002 * Math.sin(t / 4)));
  }
}

export interface StandInMetricsServer {
  url: string;
  stats: StandInStats;
  /** While hung, /stats accepts requests and answers none: a stalled server. */
  setHung(hung: boolean): void;
  stop(): void;
}

/** Serves the dashboard and a StandInStats on 127.0.0.1 through the project's metrics server. */
export function startStandInMetricsServer(port = 0): StandInMetricsServer {
  const stats = new StandInStats();
  let hung = false;
  // Requests held while hung, released (answered) when it resumes or stops; bounded.
  const held: (() => void)[] = [];
  const HELD_MAX = 64;
  const snapshot = (): StatsSnapshot | Promise<StatsSnapshot> => {
    if (!hung || held.length >= HELD_MAX) return stats.snapshot();
    return new Promise((resolve) => held.push(() => resolve(stats.snapshot())));
  };
  const release = () => {
    for (const answer of held.splice(0)) answer();
  };
  const server = startMetricsServer({ host: "127.0.0.1", port, snapshot });
  return {
    url: `http://127.0.0.1:${server.port}`,
    stats,
    setHung(value) {
      hung = value;
      if (!hung) release();
    },
    stop() {
      release();
      void server.stop(true);
    },
  };
}
