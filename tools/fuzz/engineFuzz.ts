// In-process engine fuzz: a server engine and a client engine complete real handshakes in
// memory (so connection IDs, cookies and packet numbers are live), their own datagrams become
// the seeds, and millions of mutations go straight into engine.handleDatagram on both sides,
// with virtual time advancing and the engines polled as a runtime would. A throw anywhere,
// or an "internal-error" drop (the engine's own catch-all), is a finding; the seed and the
// datagram reproduce it.
//
//   bun tools/fuzz/engineFuzz.ts [--iterations 5000000] [--seed 1] [--seconds-max 120]
import { parseArgs } from "node:util";
import type { Engine, EngineDependencies, PeerAddress, TransmitInfo } from "../../src/protocol/api.ts";
import { createEngine } from "../../src/protocol/index.ts";
import { crc32c } from "../../src/native/crc32c.ts";
import { FastPrng, Mutator } from "./mutators.ts";

export interface EngineFuzzOptions {
  iterations: number;
  seed: number;
  secondsMax: number;
  /** A fresh pair of connections (new IDs, new seeds) every this many iterations. */
  refreshEvery: number;
}

export interface EngineFuzzFinding {
  iteration: number;
  side: "server" | "client";
  error: string;
  datagramHex: string;
}

export interface EngineFuzzResult {
  seed: number;
  iterations: number;
  seconds: number;
  iterationsPerSecond: number;
  seedDatagrams: number;
  refreshes: number;
  findings: EngineFuzzFinding[];
  serverDrops: Record<string, number>;
  clientDrops: Record<string, number>;
  internalErrors: number;
  serverConnectionsOpened: number;
  serverConnectionsActive: number;
}

const FINDINGS_MAX = 20;
const POLL_EVERY = 64;
const POLL_TRANSMITS_MAX = 256;
const POLL_EVENTS_MAX = 4096;
const serverAddress: PeerAddress = { family: 4, host: "10.0.0.1", port: 7700 };
const clientAddress: PeerAddress = { family: 4, host: "10.0.0.2", port: 40_000 };
const strangerAddress: PeerAddress = { family: 4, host: "10.0.0.3", port: 40_001 };

function deterministicDependencies(prng: FastPrng): EngineDependencies {
  return {
    crc32c: (data) => crc32c(data),
    randomBytes: (out) => {
      for (let i = 0; i < out.length; i++) out[i] = prng.nextU32() & 0xff;
    },
  };
}

/** Moves datagrams between two engines until both are quiet (bounded); records them as seeds. */
class Pair {
  readonly out = new Uint8Array(65_536);
  readonly info: TransmitInfo = { length: 0, to: null };
  nowUs = 1_000_000;

  constructor(
    readonly server: Engine,
    readonly client: Engine,
    readonly toServer: Uint8Array[],
    readonly toClient: Uint8Array[],
  ) {}

  drive(rounds: number, record: boolean): void {
    for (let round = 0; round < rounds; round++) {
      let moved = 0;
      moved += this.move(this.client, this.server, clientAddress, record ? this.toServer : null);
      moved += this.move(this.server, this.client, serverAddress, record ? this.toClient : null);
      drainEvents(this.server);
      drainEvents(this.client);
      this.nowUs += 2_000;
      this.server.handleTimeout(this.nowUs);
      this.client.handleTimeout(this.nowUs);
      if (moved === 0 && round > 4) return;
    }
  }

  private move(from: Engine, to: Engine, fromAddress: PeerAddress, seeds: Uint8Array[] | null): number {
    let moved = 0;
    for (let i = 0; i < POLL_TRANSMITS_MAX && from.pollTransmit(this.nowUs, this.out, this.info); i++) {
      const datagram = this.out.slice(0, this.info.length);
      if (seeds !== null && seeds.length < 512) seeds.push(datagram);
      to.handleDatagram(this.nowUs, datagram, fromAddress);
      moved++;
    }
    return moved;
  }
}

function drainEvents(engine: Engine): void {
  for (let i = 0; i < POLL_EVENTS_MAX && engine.pollEvent() !== null; i++);
}

function discardTransmits(engine: Engine, nowUs: number, out: Uint8Array, info: TransmitInfo): void {
  for (let i = 0; i < POLL_TRANSMITS_MAX && engine.pollTransmit(nowUs, out, info); i++);
}

/** New engines, two connections through every state (handshake, messages, ACKs, a close). */
function freshPair(prng: FastPrng): Pair {
  const deps = deterministicDependencies(prng);
  const server = createEngine({ role: "server", maxConnections: 64 }, deps);
  const client = createEngine({ role: "client" }, deps);
  const pair = new Pair(server, client, [], []);
  const closing = client.connect(pair.nowUs, serverAddress);
  const open = client.connect(pair.nowUs, serverAddress);
  pair.drive(50, true);
  const payload = new Uint8Array(3000).fill(0x42); // fragmented
  for (let channel = 0; channel < 4; channel++) {
    client.send(open, channel, payload.subarray(0, 100 + channel * 900));
    client.send(closing, channel, payload.subarray(0, 50));
  }
  pair.drive(50, true);
  client.close(closing, "graceful", true);
  pair.drive(50, true);
  return pair;
}

export function runEngineFuzz(options: EngineFuzzOptions): EngineFuzzResult {
  const prng = new FastPrng(options.seed);
  const mutator = new Mutator(prng);
  const findings: EngineFuzzFinding[] = [];
  const drops = { server: {} as Record<string, number>, client: {} as Record<string, number> };
  let pair = freshPair(prng);
  let seedDatagrams = pair.toServer.length + pair.toClient.length;
  let refreshes = 0;
  let opened = 0;
  let active = 0;
  const out = new Uint8Array(65_536);
  const info: TransmitInfo = { length: 0, to: null };
  const record = (side: "server" | "client", iteration: number, error: unknown, datagram: Uint8Array) => {
    if (findings.length >= FINDINGS_MAX) return;
    findings.push({ iteration, side, error: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error), datagramHex: Buffer.from(datagram).toString("hex") });
  };
  const merge = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [reason, count] of Object.entries(from)) into[reason] = (into[reason] ?? 0) + count;
  };
  const retire = (old: Pair) => {
    merge(drops.server, old.server.counters.drops);
    merge(drops.client, old.client.counters.drops);
    opened += old.server.counters.connectionsOpened;
    active = old.server.counters.connectionsActive;
  };

  const started = performance.now();
  const deadline = started + options.secondsMax * 1000;
  let iteration = 0;
  for (; iteration < options.iterations; iteration++) {
    if (iteration > 0 && iteration % options.refreshEvery === 0) {
      if (performance.now() > deadline) break;
      retire(pair);
      pair = freshPair(prng);
      seedDatagrams += pair.toServer.length + pair.toClient.length;
      refreshes++;
    }
    const toServer = (iteration & 1) === 0 || pair.toClient.length === 0;
    const seeds = toServer ? pair.toServer : pair.toClient;
    if (seeds.length === 0) continue;
    const datagram = mutator.mutate(seeds[prng.below(seeds.length)]!);
    const target = toServer ? pair.server : pair.client;
    const from = prng.below(8) === 0 ? strangerAddress : toServer ? clientAddress : serverAddress;
    try {
      target.handleDatagram(pair.nowUs, datagram, from);
    } catch (error) {
      record(toServer ? "server" : "client", iteration, error, datagram);
    }
    if (iteration % POLL_EVERY === 0) {
      pair.nowUs += 1_000 + prng.below(50_000);
      try {
        for (const engine of [pair.server, pair.client]) {
          engine.handleTimeout(pair.nowUs);
          discardTransmits(engine, pair.nowUs, out, info);
          drainEvents(engine);
          engine.pollTimeout();
        }
      } catch (error) {
        record("server", iteration, error, datagram);
      }
    }
  }
  retire(pair);
  const seconds = (performance.now() - started) / 1000;
  return {
    seed: options.seed,
    iterations: iteration,
    seconds,
    iterationsPerSecond: Math.round(iteration / seconds),
    seedDatagrams,
    refreshes,
    findings,
    serverDrops: drops.server,
    clientDrops: drops.client,
    internalErrors: (drops.server["internal-error"] ?? 0) + (drops.client["internal-error"] ?? 0),
    serverConnectionsOpened: opened,
    serverConnectionsActive: active,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      iterations: { type: "string", default: "5000000" },
      seed: { type: "string", default: "1" },
      "seconds-max": { type: "string", default: "300" },
      "refresh-every": { type: "string", default: "20000" },
    },
  });
  const result = runEngineFuzz({
    iterations: Number(values.iterations),
    seed: Number(values.seed),
    secondsMax: Number(values["seconds-max"]),
    refreshEvery: Number(values["refresh-every"]),
  });
  console.log(JSON.stringify(result, null, 1));
  process.exit(result.findings.length === 0 && result.internalErrors === 0 ? 0 : 1);
}
