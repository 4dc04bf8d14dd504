// The load scenarios of BENCHMARKS-LOAD.md: each runs every system side by side with the same
// workload, through `bun run loadgen`. Full figures come from the full form; --smoke shrinks
// every scenario to seconds (CI), and its figures prove only that the pipeline works.

import type { RunSummary } from "../loadgen/results.ts";

export type SystemLabel = "rudp-native" | "rudp-fallback" | "udp" | "tcp" | "kcp";
export const allSystems: SystemLabel[] = ["rudp-native", "rudp-fallback", "udp", "tcp", "kcp"];

export interface ScenarioRun {
  /** Unique in the scenario; names the results file. */
  id: string;
  label: string;
  system: SystemLabel;
  args: string[];
}

export interface DerivedColumn {
  name: string;
  value: (summary: RunSummary, all: Map<string, RunSummary>) => number | null;
  /** Lower is better (for the ratio to bun-rudp). */
  lowerIsBetter?: boolean;
  digits?: number;
}

export interface GoalCheck {
  text: string;
  /** Measured on bun-rudp (native driver): the figure and whether the goal holds. */
  evaluate: (all: Map<string, RunSummary>) => { figure: string; reached: boolean } | null;
}

export interface Scenario {
  number: number;
  title: string;
  description: string;
  runs: ScenarioRun[];
  /** Run the ratios are taken against; default: the bun-rudp native run of the same phase. */
  referenceRunId?: string;
  /** The column the ratio to bun-rudp is computed on. */
  keyColumn: DerivedColumn;
  extraColumns: DerivedColumn[];
  goals: GoalCheck[];
  charts: ("throughput" | "goodput" | "latency-cdf" | "key")[];
}

const perMessage = (size: number) => ["--size", String(size)];

function systemsRuns(prefix: string, systems: SystemLabel[], args: (system: SystemLabel) => string[] | null, labelSuffix = ""): ScenarioRun[] {
  const runs: ScenarioRun[] = [];
  for (const system of systems) {
    const systemArgs = args(system);
    if (systemArgs === null) continue;
    runs.push({ id: `${prefix}${system}`, label: `${system}${labelSuffix}`, system, args: ["--system", system, "--spawn-server", ...systemArgs] });
  }
  return runs;
}

const delivered: DerivedColumn = { name: "delivered msg/s", value: (s) => s.deliveredPerSecond, digits: 0 };
const goodput: DerivedColumn = { name: "goodput MB/s", value: (s) => s.goodputMBps, digits: 2 };
const p99: DerivedColumn = { name: "RTT p99 us", value: (s) => (s.rttUs.count > 0 ? s.rttUs.p99 : null), lowerIsBetter: true, digits: 0 };
const serverCpu: DerivedColumn = { name: "server CPU %", value: (s) => s.server?.cpuPercent ?? null, lowerIsBetter: true, digits: 1 };

function rudp(all: Map<string, RunSummary>, id: string): RunSummary | null {
  const summary = all.get(id);
  return summary && summary.errors.length === 0 && summary.connections > 0 ? summary : null;
}

export function buildScenarios(smoke: boolean): Scenario[] {
  const seconds = (full: number, small: number) => String(smoke ? small : full);
  const scenarios: Scenario[] = [];

  scenarios.push({
    number: 1,
    title: "Most messages per second",
    description:
      "64-byte messages, reliable-ordered (bun-rudp), 100 connections echoed by one server process, offered open loop far above capacity " +
      "by 2 client processes. The clients share the machine's 2 cores with the server, so this measures the whole box, not the server alone.",
    runs: systemsRuns("s1-", allSystems, () => ["--connections", "100", "--processes", "2", "--rate", smoke ? "20000" : "1000000", ...perMessage(64), "--duration", seconds(5, 1), "--drain", seconds(3, 1), "--mode", "reliable-ordered", "--pacing", "timer"]),
    keyColumn: delivered,
    extraColumns: [goodput, p99, serverCpu],
    goals: [
      {
        text: "1,000,000 messages/s",
        evaluate: (all) => {
          const s = rudp(all, "s1-rudp-native");
          return s && { figure: `${s.deliveredPerSecond.toLocaleString("en-US")} msg/s`, reached: s.deliveredPerSecond >= 1_000_000 };
        },
      },
    ],
    charts: ["throughput"],
  });

  scenarios.push({
    number: 2,
    title: "Latency at a fixed 10,000 messages/s",
    description: "64-byte messages, reliable-ordered, 100 connections, 10,000 msg/s in total, precise pacing; RTT from the intended send time.",
    runs: systemsRuns("s2-", allSystems, () => ["--connections", "100", "--rate", smoke ? "1000" : "10000", ...perMessage(64), "--duration", seconds(10, 1), "--drain", "1", "--mode", "reliable-ordered", "--pacing", "precise"]),
    keyColumn: p99,
    extraColumns: [
      { name: "RTT p50 us", value: (s) => s.rttUs.p50, lowerIsBetter: true, digits: 0 },
      { name: "RTT p99.9 us", value: (s) => s.rttUs.p999, lowerIsBetter: true, digits: 0 },
      { name: "p99 from actual send us", value: (s) => s.serviceRttUs.p99, lowerIsBetter: true, digits: 0 },
      serverCpu,
    ],
    goals: [
      {
        text: "p99 < 100 us",
        evaluate: (all) => {
          const s = rudp(all, "s2-rudp-native");
          return s && { figure: `p99 ${s.rttUs.p99} us`, reached: s.rttUs.p99 < 100 };
        },
      },
      {
        text: "p99.9 < 250 us",
        evaluate: (all) => {
          const s = rudp(all, "s2-rudp-native");
          return s && { figure: `p99.9 ${s.rttUs.p999} us`, reached: s.rttUs.p999 < 250 };
        },
      },
    ],
    charts: ["latency-cdf"],
  });

  scenarios.push({
    number: 3,
    title: "Bulk transfer on one connection",
    description: "One connection, 1200-byte messages offered at 1.25M msg/s (1.5 GB/s) and echoed back; goodput counts the bytes that came back.",
    runs: systemsRuns("s3-", allSystems, () => ["--connections", "1", "--rate", smoke ? "5000" : "1250000", ...perMessage(1200), "--duration", seconds(5, 1), "--drain", seconds(3, 1), "--mode", "reliable-ordered", "--pacing", "timer"]),
    keyColumn: goodput,
    extraColumns: [delivered, p99, serverCpu],
    goals: [
      {
        text: "1.5 GB/s goodput",
        evaluate: (all) => {
          const s = rudp(all, "s3-rudp-native");
          return s && { figure: `${s.goodputMBps} MB/s`, reached: s.goodputMBps >= 1500 };
        },
      },
    ],
    charts: ["goodput"],
  });

  const manyConnections = smoke ? 200 : 10_000;
  const rssPerConnection: DerivedColumn = {
    name: "server RSS/conn bytes",
    value: (s) => (s.server && s.connections > 0 ? Math.round((s.server.rssBytesMax - s.server.rssBytesStart) / s.connections) : null),
    lowerIsBetter: true,
    digits: 0,
  };
  scenarios.push({
    number: 4,
    title: `Many connections (${manyConnections.toLocaleString("en-US")})`,
    description:
      `${manyConnections} connections from 4 client processes, first idle, then at 1 msg/s each (64 B). Server RSS per connection = ` +
      "(peak RSS during the run - RSS of the empty server) / connections.",
    runs: [
      ...systemsRuns("s4-idle-", allSystems, () => ["--connections", String(manyConnections), "--processes", smoke ? "2" : "4", "--rate", "0", "--duration", seconds(10, 1), "--connect-concurrency", "200"], " idle"),
      ...systemsRuns("s4-1hz-", allSystems, () => ["--connections", String(manyConnections), "--processes", smoke ? "2" : "4", "--rate", String(manyConnections), ...perMessage(64), "--duration", seconds(10, 1), "--drain", "2", "--connect-concurrency", "200", "--pacing", "timer"], " 1 msg/s"),
    ],
    keyColumn: rssPerConnection,
    extraColumns: [serverCpu, { name: "connected", value: (s) => s.connections, digits: 0 }, delivered],
    goals: [
      {
        text: "server RSS per connection < 4 KB",
        evaluate: (all) => {
          const s = rudp(all, "s4-idle-rudp-native");
          if (!s || !s.server) return null;
          const perConnection = Math.round((s.server.rssBytesMax - s.server.rssBytesStart) / s.connections);
          return { figure: `${perConnection} B/connection (idle, ${s.connections} connected)`, reached: perConnection < 4096 };
        },
      },
    ],
    charts: ["key"],
  });

  const streams = 64;
  const mediaRate = Math.round((streams * 2_000_000) / 8 / 1200);
  const cpuPerStream: DerivedColumn = { name: "server CPU %/stream", value: (s) => (s.server ? s.server.cpuPercent / streams : null), lowerIsBetter: true, digits: 3 };
  const mbPerStream: DerivedColumn = {
    name: "server MB/stream",
    value: (s) => (s.server ? (s.server.rssBytesMax - s.server.rssBytesStart) / streams / 1e6 : null),
    lowerIsBetter: true,
    digits: 3,
  };
  const lossPercent: DerivedColumn = { name: "loss %", value: (s) => (s.sent > 0 ? (s.lost / s.sent) * 100 : null), lowerIsBetter: true, digits: 3 };
  scenarios.push({
    number: 5,
    title: "Media relay: 64 streams at 2 Mbit/s",
    description:
      `64 publishers, each 2 Mbit/s in 1200-byte packets (${mediaRate} packets/s in total), unreliable mode for bun-rudp. The relay is the ` +
      "server's echo: each stream is relayed to one subscriber, its own publisher (the broadcast room on channel 1 would fan every stream out " +
      "to every member, which is not this workload).",
    runs: systemsRuns("s5-", allSystems, () => ["--connections", String(streams), "--rate", smoke ? String(Math.round(mediaRate / 10)) : String(mediaRate), ...perMessage(1200), "--duration", seconds(10, 1), "--drain", "1", "--mode", "unreliable", "--pacing", "timer"]),
    keyColumn: cpuPerStream,
    extraColumns: [mbPerStream, lossPercent, p99],
    goals: [
      {
        text: "<= 0.1% CPU per stream",
        evaluate: (all) => {
          const s = rudp(all, "s5-rudp-native");
          return s?.server ? { figure: `${(s.server.cpuPercent / streams).toFixed(3)}% per stream`, reached: s.server.cpuPercent / streams <= 0.1 } : null;
        },
      },
      {
        text: "<= 0.13 MB per stream",
        evaluate: (all) => {
          const s = rudp(all, "s5-rudp-native");
          if (!s?.server) return null;
          const mb = (s.server.rssBytesMax - s.server.rssBytesStart) / streams / 1e6;
          return { figure: `${mb.toFixed(3)} MB per stream`, reached: mb <= 0.13 };
        },
      },
      {
        text: "loss < 0.1%",
        evaluate: (all) => {
          const s = rudp(all, "s5-rudp-native");
          return s && { figure: `${((s.lost / Math.max(1, s.sent)) * 100).toFixed(3)}%`, reached: s.lost / Math.max(1, s.sent) < 0.001 };
        },
      },
    ],
    charts: ["key"],
  });

  const lossProxy = "loss=5%,jitter=1,seed=1";
  const cleanProxy = "jitter=1,seed=1";
  const lossArgs = ["--connections", "4", "--rate", smoke ? "2000" : "40000", ...perMessage(1200), "--duration", seconds(10, 1), "--drain", seconds(5, 2), "--mode", "reliable-ordered", "--pacing", "timer"];
  const goodputVsLossless: DerivedColumn = {
    name: "goodput vs lossless",
    value: (s, all) => {
      const lossless = all.get(`s6-clean-${s.system}`);
      const isLossy = typeof s.workload.proxy === "string" && s.workload.proxy.includes("loss=");
      return !isLossy || !lossless || lossless.goodputMBps === 0 ? null : s.goodputMBps / lossless.goodputMBps;
    },
    digits: 3,
  };
  scenarios.push({
    number: 6,
    title: "5% random loss with reordering",
    description:
      `4 connections, 1200-byte messages offered at ${smoke ? 2000 : 40000} msg/s, through the impairment proxy: \`${lossProxy}\` ` +
      `(per direction) against \`${cleanProxy}\` (same proxy, no loss). TCP through the proxy gets the jitter (order kept) but no loss: ` +
      "a user-space proxy cannot drop bytes from a TCP stream. Raw UDP shows the loss itself.",
    runs: [
      ...systemsRuns("s6-clean-", allSystems, () => [...lossArgs, "--proxy", cleanProxy], " lossless"),
      ...systemsRuns("s6-loss-", allSystems, () => [...lossArgs, "--proxy", lossProxy], " 5% loss"),
    ],
    keyColumn: goodput,
    extraColumns: [
      goodputVsLossless,
      { name: "retransmission ratio", value: (s) => s.retransmissionRatio, lowerIsBetter: true, digits: 4 },
      { name: "lost", value: (s) => s.lost, lowerIsBetter: true, digits: 0 },
      { name: "duplicated", value: (s) => s.duplicates, lowerIsBetter: true, digits: 0 },
      p99,
    ],
    goals: [
      {
        text: "goodput >= 90% of lossless",
        evaluate: (all) => {
          const lossy = rudp(all, "s6-loss-rudp-native");
          const clean = rudp(all, "s6-clean-rudp-native");
          if (!lossy || !clean || clean.goodputMBps === 0) return null;
          const ratio = lossy.goodputMBps / clean.goodputMBps;
          return { figure: `${(ratio * 100).toFixed(1)}% (${lossy.goodputMBps} vs ${clean.goodputMBps} MB/s)`, reached: ratio >= 0.9 };
        },
      },
      {
        text: "retransmission ratio <= 1.3 x loss rate (0.065)",
        evaluate: (all) => {
          const lossy = rudp(all, "s6-loss-rudp-native");
          if (!lossy || lossy.retransmissionRatio === null) return null;
          return { figure: `${lossy.retransmissionRatio.toFixed(4)}`, reached: lossy.retransmissionRatio <= 0.065 };
        },
      },
      {
        text: "no message lost or duplicated",
        evaluate: (all) => {
          const lossy = rudp(all, "s6-loss-rudp-native");
          return lossy && { figure: `${lossy.lost} lost, ${lossy.duplicates} duplicated of ${lossy.sent}`, reached: lossy.lost === 0 && lossy.duplicates === 0 };
        },
      },
    ],
    charts: ["goodput"],
  });

  const idleConnections = smoke ? 100 : 1000;
  scenarios.push({
    number: 7,
    title: `Idle: ${idleConnections} connections`,
    description: `${idleConnections} connected, idle connections (keepalives only); server CPU over the idle period.`,
    runs: systemsRuns("s7-", allSystems, () => ["--connections", String(idleConnections), "--rate", "0", "--duration", seconds(10, 1), "--connect-concurrency", "200"]),
    keyColumn: serverCpu,
    extraColumns: [{ name: "connected", value: (s) => s.connections, digits: 0 }, rssPerConnection],
    goals: [
      {
        text: "server CPU ~0%",
        evaluate: (all) => {
          const s = rudp(all, "s7-rudp-native");
          return s?.server ? { figure: `${s.server.cpuPercent}% CPU`, reached: s.server.cpuPercent < 1 } : null;
        },
      },
    ],
    charts: ["key"],
  });

  scenarios.push({
    number: 8,
    title: "Scaling: 1 and 2 server workers",
    description: "Scenario 1's workload against the bun-rudp server (native driver) with --workers 1 and 2 (SO_REUSEPORT). On 2 cores shared with the clients.",
    runs: [1, 2].map((workers) => ({
      id: `s8-workers${workers}`,
      label: `rudp-native ${workers} worker${workers > 1 ? "s" : ""}`,
      system: "rudp-native" as const,
      args: ["--system", "rudp-native", "--spawn-server", "--server-workers", String(workers), "--connections", "100", "--processes", "2", "--rate", smoke ? "20000" : "1000000", ...perMessage(64), "--duration", seconds(5, 1), "--drain", seconds(3, 1), "--pacing", "timer"],
    })),
    referenceRunId: "s8-workers1",
    keyColumn: delivered,
    extraColumns: [serverCpu, p99],
    goals: [],
    charts: ["throughput"],
  });
  return scenarios;
}
