// Congestion-control scenarios on a simulated bottleneck link (issue 11): one or two bulk
// flows through 200 Mbit/s, 10 ms RTT and a 20 ms drop-tail queue, clean or impaired. Virtual
// time and one seed make every figure exact and independent of the machine's load, which is
// why this, not a wall-clock run, is the instrument for congestion-control behaviour.
//
// A flow is closed-loop: the application sends while send() queues and waits for "drain".
// Figures are taken over a measured window after a warm-up (slow start excluded).

import type { CongestionControlName, EngineConfig } from "../../src/protocol/api.ts";
import { Simulation, type SimConnection, type SimEndpoint } from "./harness.ts";
import type { Flow } from "./ledger.ts";
import { perfectLink, type LinkImpairments } from "./network.ts";

export const LINK_BYTES_PER_SECOND = 200e6 / 8;
export const RTT_US = 10_000;
export const QUEUE_US = 20_000;
/** One datagram per message: 1100 B of application data in a 1200 B datagram. */
export const MESSAGE_BYTES = 1100;

export type ImpairmentName = "clean" | "loss5" | "burst5" | "jitter1ms" | "twoFlows";
export const IMPAIRMENTS: ImpairmentName[] = ["clean", "loss5", "burst5", "jitter1ms", "twoFlows"];

export const IMPAIRMENT_TITLES: Record<ImpairmentName, string> = {
  clean: "clean",
  loss5: "5% random loss",
  burst5: "5% Gilbert-Elliott burst loss",
  jitter1ms: "1 ms mean jitter, no loss",
  twoFlows: "two flows (2nd starts at 1 s)",
};

/** The bottleneck both ways; the forward direction carries the impairment. */
export function bottleneckLink(name: ImpairmentName): LinkImpairments {
  const link: LinkImpairments = {
    ...perfectLink(),
    delayUs: RTT_US / 2,
    bandwidthBytesPerSecond: LINK_BYTES_PER_SECOND,
    queueBytesMax: (LINK_BYTES_PER_SECOND * QUEUE_US) / 1e6,
  };
  if (name === "loss5") link.lossRate = 0.05;
  // Mean bad-state run 1/0.25 = 4 datagrams at 50% loss; good 1/0.026 ≈ 38 datagrams at 0.5%:
  // the stationary loss is 0.5% * 0.906 + 50% * 0.094 ≈ 5.1%.
  if (name === "burst5") link.burstLoss = { goodToBadRate: 0.026, badToGoodRate: 0.25, lossRateGood: 0.005, lossRateBad: 0.5 };
  // Exponential with a 1 ms mean: reorders packets sent within about a millisecond of each other.
  if (name === "jitter1ms") link.jitterMeanUs = 1_000;
  return link;
}

export interface FlowFigures {
  goodputBytesPerSecond: number;
  packetsSent: number;
  packetsLost: number;
  packetsRetransmitted: number;
  spuriousRetransmissions: number;
  /** Datagrams the network dropped on this flow's forward path (loss + queue overflow). */
  networkDrops: number;
  rttSmoothedUs: number;
  cwndBytes: number;
}

export interface ScenarioFigures {
  controller: CongestionControlName;
  impairment: ImpairmentName;
  seed: number;
  warmupUs: number;
  measuredUs: number;
  flows: FlowFigures[];
  /** Sum of the flows' goodput over the link rate. */
  linkShare: number;
  /** Mean and maximum wait in the forward bottleneck queue over the measured window. */
  queueDelayMeanUs: number;
  queueDelayMaxUs: number;
  /** Packets retransmitted per packet the network dropped. */
  retransmitPerDrop: number;
  /** Spurious retransmissions per packet sent. */
  spuriousRatio: number;
  /** Each flow's goodput over an equal share (two flows only; 1 = fair). */
  shares: number[];
  /** Simulation steps (a measure of the run's cost, not of the protocol). */
  steps: number;
}

export interface ScenarioOptions {
  seed?: number;
  warmupUs?: number;
  measuredUs?: number;
  config?: Partial<EngineConfig>;
}

interface FlowRun {
  client: SimEndpoint;
  connection: SimConnection;
  flow: Flow;
  deliveredAtWarmup: number;
  dropsAtWarmup: number;
  statsAtWarmup: { sent: number; lost: number; retransmitted: number; spurious: number };
}

/** Messages planned per flow: more than the link can carry in the run, so a flow never runs dry. */
function plannedMessages(totalUs: number): number {
  return Math.ceil(((LINK_BYTES_PER_SECOND * totalUs) / 1e6 / MESSAGE_BYTES) * 1.2) + 1000;
}

export function runBottleneck(controller: CongestionControlName, impairment: ImpairmentName, options: ScenarioOptions = {}): ScenarioFigures {
  const seed = options.seed ?? 1;
  const twoFlows = impairment === "twoFlows";
  const warmupUs = options.warmupUs ?? (twoFlows ? 5_000_000 : 2_000_000);
  const measuredUs = options.measuredUs ?? 5_000_000;
  const totalUs = warmupUs + measuredUs;
  const simulation = new Simulation(`cc ${controller} ${impairment}`, seed, bottleneckLink(impairment));
  const config: Partial<EngineConfig> = { congestionControl: controller, idleTimeoutUs: 30_000_000, ...options.config };
  const server = simulation.addEndpoint({ name: "server", role: "server", config });
  const flows: FlowRun[] = [];
  const startFlow = (index: number): void => {
    const client = simulation.addEndpoint({ name: `client${index}`, role: "client", config });
    // The simulator keeps a queue per directed link; the flows share one bottleneck both ways.
    if (flows.length > 0) {
      const first = flows[0]!.client.address;
      simulation.network.shareBottleneck(client.address, server.address, first, server.address);
      simulation.network.shareBottleneck(server.address, client.address, server.address, first);
    }
    const connection = simulation.connect(client, server);
    const flow = simulation.ledger.createFlow(client.name, "server", 0, "reliable-ordered");
    simulation.plan(connection, flow, plannedMessages(totalUs), MESSAGE_BYTES);
    flows.push({ client, connection, flow, deliveredAtWarmup: 0, dropsAtWarmup: 0, statsAtWarmup: { sent: 0, lost: 0, retransmitted: 0, spurious: 0 } });
  };
  startFlow(0);
  if (twoFlows) simulation.at(1_000_000, () => startFlow(1));
  simulation.runFor("warm-up", warmupUs);
  const queue = simulation.network.queueStats(flows[0]!.client.address, server.address);
  const queueAtWarmup = { datagrams: queue.datagrams, waitUsSum: queue.waitUsSum };
  queue.waitUsMax = 0;
  for (const run of flows) snapshot(simulation, run, server);
  simulation.runFor("measured", measuredUs);
  const figures = flows.map((run) => flowFigures(simulation, run, server, measuredUs));
  const goodput = figures.reduce((sum, flow) => sum + flow.goodputBytesPerSecond, 0);
  const drops = figures.reduce((sum, flow) => sum + flow.networkDrops, 0);
  const retransmitted = figures.reduce((sum, flow) => sum + flow.packetsRetransmitted, 0);
  const sent = figures.reduce((sum, flow) => sum + flow.packetsSent, 0);
  const spurious = figures.reduce((sum, flow) => sum + flow.spuriousRetransmissions, 0);
  const queued = queue.datagrams - queueAtWarmup.datagrams;
  return {
    controller,
    impairment,
    seed,
    warmupUs,
    measuredUs,
    flows: figures,
    linkShare: goodput / LINK_BYTES_PER_SECOND,
    queueDelayMeanUs: queued > 0 ? (queue.waitUsSum - queueAtWarmup.waitUsSum) / queued : 0,
    queueDelayMaxUs: queue.waitUsMax,
    retransmitPerDrop: drops > 0 ? retransmitted / drops : retransmitted > 0 ? Infinity : 0,
    spuriousRatio: sent > 0 ? spurious / sent : 0,
    shares: twoFlows ? figures.map((flow) => flow.goodputBytesPerSecond / (goodput / figures.length)) : [],
    steps: simulation.steps,
  };
}

function snapshot(simulation: Simulation, run: FlowRun, server: SimEndpoint): void {
  run.deliveredAtWarmup = run.flow.deliveredBytes;
  run.dropsAtWarmup = simulation.network.droppedOn(run.client.address, server.address);
  const stats = run.client.engine.connectionStats(run.connection.handle);
  if (stats !== null) run.statsAtWarmup = { sent: stats.packetsSent, lost: stats.packetsLost, retransmitted: stats.packetsRetransmitted, spurious: stats.spuriousRetransmissions };
}

function flowFigures(simulation: Simulation, run: FlowRun, server: SimEndpoint, measuredUs: number): FlowFigures {
  const stats = run.client.engine.connectionStats(run.connection.handle);
  if (stats === null) simulation.fail(`${run.client.name}: connection ${run.connection.handle} has no stats (closed: ${run.connection.closed?.reason ?? "no"})`);
  return {
    goodputBytesPerSecond: ((run.flow.deliveredBytes - run.deliveredAtWarmup) * 1e6) / measuredUs,
    packetsSent: stats.packetsSent - run.statsAtWarmup.sent,
    packetsLost: stats.packetsLost - run.statsAtWarmup.lost,
    packetsRetransmitted: stats.packetsRetransmitted - run.statsAtWarmup.retransmitted,
    spuriousRetransmissions: stats.spuriousRetransmissions - run.statsAtWarmup.spurious,
    networkDrops: simulation.network.droppedOn(run.client.address, server.address) - run.dropsAtWarmup,
    rttSmoothedUs: stats.rttSmoothedUs,
    cwndBytes: stats.congestionWindowBytes,
  };
}
