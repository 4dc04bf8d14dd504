// Random scenarios for the seed sweep: one seed picks the path (loss, bursts, duplication,
// corruption, delay, jitter, bottleneck, blackhole, MTU), the workload (channels, modes, sizes,
// both directions), who closes, and whether an attacker sprays garbage; then runs it with every
// check of runTransfer plus the corruption check.

import type { CongestionControlName, DeliveryMode, EngineConfig } from "../../src/protocol/api.ts";
import type { LinkImpairments } from "./network.ts";
import { Prng } from "./prng.ts";
import { checkCorruptionCaught, impaired, runMultiClient, runTransfer, type FlowPlan, type MultiClientOptions, type TransferOptions } from "./scenarios.ts";

const modes: DeliveryMode[] = ["reliable-ordered", "reliable-unordered", "unreliable", "unreliable-sequenced"];
const modes4 = modes;
const congestionControls: CongestionControlName[] = ["newreno", "cubic", "adaptive", "bbr"];

export interface RandomScenario {
  options: TransferOptions;
  description: string;
}

export function randomScenario(seed: number): RandomScenario {
  const prng = new Prng(seed ^ 0x5eed5eed);
  const impairments = randomImpairments(prng);
  // 1200 is the protocol's minimum (a padded INITIAL); some runs use more, on a path that fits it exactly.
  const mtuBytes = prng.chance(0.2) ? prng.between(1201, 1472) : 1200;
  impairments.pathMtuBytes = mtuBytes;
  // Extreme delay, loss and a blackhole together can outlast the default 10 s handshake timeout
  // legitimately; the sweep hunts for wrong behaviour, not for slow-but-correct, so give it room.
  const congestionControl = prng.pick(congestionControls);
  const config: Partial<EngineConfig> = { mtuBytes, handshakeTimeoutUs: 60e6, congestionControl };
  const flows = randomFlows(prng);
  const options: TransferOptions = {
    impairments,
    flows,
    clientConfig: config,
    serverConfig: config,
    // Virtual time is cheap (a step per event, not per microsecond): 750 ms paths with heavy
    // jitter and loss crawl at a few kB/s under congestion control and still must finish.
    transferLimitUs: 3600e6,
    closer: prng.chance(0.5) ? "client" : "server",
  };
  const description =
    `mtu ${mtuBytes}, ${congestionControl}, ${JSON.stringify({ ...impairments, burstLoss: impairments.burstLoss })}, closer ${options.closer}, flows ` +
    flows.map((f) => `${f.direction}:ch${f.channel}:${f.mode}x${f.count}`).join(" ");
  return { options, description };
}

function randomImpairments(prng: Prng): LinkImpairments {
  const delayUs = prng.chance(0.05) ? prng.between(300_000, 800_000) : prng.between(500, 100_000);
  const impairments = impaired({
    delayUs,
    jitterMeanUs: prng.chance(0.5) ? prng.below(Math.floor(delayUs / 2) + 1) : 0,
    lossRate: prng.chance(0.7) ? prng.nextFloat() * 0.2 : 0,
    duplicateRate: prng.chance(0.3) ? prng.nextFloat() * 0.05 : 0,
    corruptRate: prng.chance(0.3) ? prng.nextFloat() * 0.1 : 0,
  });
  if (prng.chance(0.2)) {
    impairments.burstLoss = { goodToBadRate: 0.001 + prng.nextFloat() * 0.02, badToGoodRate: 0.1 + prng.nextFloat() * 0.5, lossRateGood: 0, lossRateBad: 0.5 + prng.nextFloat() * 0.5 };
  }
  if (prng.chance(0.3)) {
    impairments.bandwidthBytesPerSecond = prng.between(200_000, 5_000_000);
    impairments.queueBytesMax = prng.between(20_000, 200_000);
  }
  if (prng.chance(0.2)) {
    const startUs = prng.between(100_000, 2_000_000);
    impairments.blackholes = [{ startUs, endUs: startUs + prng.between(200_000, 2_000_000) }];
  }
  return impairments;
}

function randomFlows(prng: Prng): FlowPlan[] {
  const flows: FlowPlan[] = [];
  const channelCount = prng.between(1, 4);
  for (let channel = 0; channel < channelCount; channel++) {
    const mode = prng.pick(modes);
    for (const direction of ["up", "down"] as const) {
      if (!prng.chance(0.7)) continue;
      const sizeClass = prng.below(20);
      const largest = sizeClass === 0 ? 200_000 : sizeClass < 5 ? 20_000 : 1200;
      flows.push({ direction, channel, mode, count: prng.between(1, sizeClass === 0 ? 5 : 60), lengthBytes: (p) => p.between(20, largest) });
    }
  }
  if (flows.length === 0) flows.push({ direction: "up", channel: 0, mode: "reliable-ordered", count: 1, lengthBytes: 100 });
  return flows;
}

/** One seed in seven runs several clients at once instead of one pair. */
export function isMultiClientSeed(seed: number): boolean {
  return new Prng(seed ^ 0x3c1e7).below(7) === 0;
}

export function randomMultiClient(seed: number): MultiClientOptions {
  const prng = new Prng(seed ^ 0x3c1e7);
  prng.below(7);
  const impairments = randomImpairments(prng);
  const modes = Array.from({ length: prng.between(1, 3) }, () => prng.pick(modes4));
  const config: Partial<EngineConfig> = { handshakeTimeoutUs: 60e6, congestionControl: prng.pick(congestionControls) };
  return { clientCount: prng.between(2, 6), impairments, modes, messagesPerFlow: prng.between(1, 20), lengthBytesMax: prng.pick([300, 1200, 6000]), config, transferLimitUs: 3600e6 };
}

/** Runs one sweep seed with every check; throws SimFailure (with the seed) on a violation. */
export function runSweepSeed(seed: number): void {
  if (isMultiClientSeed(seed)) {
    const simulation = runMultiClient("sweep", seed, randomMultiClient(seed));
    checkCorruptionCaught(simulation, simulation.endpoints);
    return;
  }
  const { options } = randomScenario(seed);
  const result = runTransfer("sweep", seed, options);
  checkCorruptionCaught(result.simulation, [result.client, result.server]);
}

/** What a sweep seed runs, for failure reports. */
export function describeSweepSeed(seed: number): string {
  if (!isMultiClientSeed(seed)) return randomScenario(seed).description;
  const options = randomMultiClient(seed);
  return `${options.clientCount} clients, ${options.config?.congestionControl}, modes ${options.modes.join(",")}, ${options.messagesPerFlow} messages of up to ${options.lengthBytesMax} B per flow, ${JSON.stringify(options.impairments)}`;
}
