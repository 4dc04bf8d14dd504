// Fuzzes a running bun-rudp server over UDP: N malformed and mutated datagrams (random
// bytes, truncations, bit flips, field mutations of valid packets from every state), sent
// both from a socket that holds a real connection (so mutations reach the frame parsers)
// and from strangers on other 127/8 addresses, while a normal client keeps exchanging
// echo messages. Reads GET /stats before and after to account for every datagram.
//
//   bun tools/fuzz/serverFuzz.ts --spawn [--datagrams 10000000] [--rate 40000] [--seed 1]
//   bun tools/fuzz/serverFuzz.ts --port 7700 --metrics http://127.0.0.1:9100 [...]
import { parseArgs } from "node:util";
import { connect, type RudpConnection } from "../../src/index.ts";
import type { StatsSnapshot } from "../../src/metrics/statsSchema.ts";
import { serverSeeds } from "./corpus.ts";
import { FastPrng, MUTATION_NAMES, Mutator } from "./mutators.ts";
import { RawPeer, rawHandshake, type RawConnection } from "./rawPeer.ts";

export interface ServerFuzzOptions {
  host: string;
  port: number;
  /** GET /stats base URL, or null to skip the server-side accounting. */
  metricsUrl: string | null;
  datagrams: number;
  /** Upper bound on the run, whatever the count. */
  secondsMax: number;
  /** Datagrams per second to aim for (0: as fast as the loop goes). */
  ratePerSecond: number;
  seed: number;
  strangers: number;
  /** A fresh raw connection (new socket, new handshake) every this many datagrams. */
  reconnectEvery: number;
  log: (line: string) => void;
}

export const defaultServerFuzzOptions: Omit<ServerFuzzOptions, "port" | "metricsUrl"> = {
  host: "127.0.0.1",
  datagrams: 200_000,
  secondsMax: 600,
  ratePerSecond: 40_000,
  seed: 1,
  strangers: 8,
  reconnectEvery: 1_000,
  log: () => {},
};

export interface ServerFuzzResult {
  seed: number;
  datagramsSent: number;
  sendRefused: number;
  sealedSent: number;
  unsealedSent: number;
  byMutation: Record<string, number>;
  seconds: number;
  datagramsPerSecond: number;
  rawConnections: number;
  rawHandshakeFailures: number;
  client: { sent: number; echoed: number; duplicates: number; outOfOrder: number; broadcastsReceived: number; maxEchoGapMs: number; maxTickGapMs: number; connection: { packetsLost: number; packetsRetransmitted: number; rttSmoothedUs: number } | null; closed: string | null };
  server: {
    /** Datagrams that reached the server socket: driver-received plus receive-thread drops. */
    arrived: number;
    drops: Record<string, number>;
    dropsTotal: number;
    /** arrived - dropsTotal: datagrams the engine took (valid, or valid after a resealed mutation). */
    accepted: number;
    rssBeforeBytes: number;
    rssMaxBytes: number;
    rssAfterBytes: number;
    connectionsActiveAfter: number;
  } | null;
}

const BATCH = 256;
const RECEIVE_THREAD_DROPS = ["ring-full", "no-slot"];

async function stats(url: string): Promise<StatsSnapshot> {
  return (await (await fetch(`${url}/stats`)).json()) as StatsSnapshot;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) if (value - (before[key] ?? 0) !== 0) out[key] = value - (before[key] ?? 0);
  return out;
}

/** A normal client sending one small echo request every 10 ms; tracks the longest gap between echoes. */
class EchoProbe {
  sent = 0;
  echoed = 0;
  /** Echoes whose sequence number was already seen, or came before a later one (reliable-ordered must do neither). */
  duplicates = 0;
  outOfOrder = 0;
  broadcastsReceived = 0;
  /** The fuzzer's own event-loop lag, seen by the probe's 10 ms timer: tells a stall here from one in the server. */
  maxTickGapMs = 0;
  private lastTickMs = performance.now();
  private nextExpected = 0;
  private readonly seen = new Set<number>();
  maxEchoGapMs = 0;
  closed: string | null = null;
  private lastEchoMs = performance.now();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly payload = new Uint8Array(32);

  constructor(private readonly connection: RudpConnection) {
    connection.on("message", (channel, data) => {
      // Fuzzed frames on the example app's broadcast channel (1) reach every member, the probe too.
      if (channel !== 0) return void this.broadcastsReceived++;
      const sequence = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
      if (this.seen.has(sequence)) this.duplicates++;
      else if (sequence !== this.nextExpected) this.outOfOrder++;
      this.seen.add(sequence);
      this.nextExpected = sequence + 1;
      const now = performance.now();
      this.maxEchoGapMs = Math.max(this.maxEchoGapMs, now - this.lastEchoMs);
      this.lastEchoMs = now;
      this.echoed++;
    });
    connection.on("close", (info) => (this.closed = info.reason));
    this.timer = setInterval(() => {
      const now = performance.now();
      this.maxTickGapMs = Math.max(this.maxTickGapMs, now - this.lastTickMs);
      this.lastTickMs = now;
      new DataView(this.payload.buffer).setUint32(0, this.sent, true);
      if (this.closed === null && this.connection.send(0, this.payload)) this.sent++;
    }, 10);
  }

  connectionStats(): { packetsLost: number; packetsRetransmitted: number; rttSmoothedUs: number } | null {
    const stats = this.connection.stats();
    return stats && { packetsLost: stats.packetsLost, packetsRetransmitted: stats.packetsRetransmitted, rttSmoothedUs: Math.round(stats.rttSmoothedUs) };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Bun.sleep(300); // the last echoes
    this.maxEchoGapMs = Math.max(this.maxEchoGapMs, 0);
    if (this.closed === null) await this.connection.close();
  }
}

async function openRaw(target: { host: string; port: number }, index: number): Promise<RawConnection | null> {
  const peer = await RawPeer.open(target, `127.50.0.${1 + (index % 250)}`);
  try {
    return await rawHandshake(peer, 1000);
  } catch {
    peer.close();
    return null;
  }
}

export async function runServerFuzz(options: ServerFuzzOptions): Promise<ServerFuzzResult> {
  const target = { host: options.host, port: options.port };
  const prng = new FastPrng(options.seed);
  const mutator = new Mutator(prng);
  const before = options.metricsUrl ? await stats(options.metricsUrl) : null;
  let rssMaxBytes = before?.process.rssBytes ?? 0;

  const probe = new EchoProbe(await connect(options.host, options.port, { exclusiveSocket: true }));
  const strangers: RawPeer[] = [];
  for (let i = 0; i < options.strangers; i++) strangers.push(await RawPeer.open(target, `127.50.1.${1 + i}`));
  let rawConnections = 0;
  let rawHandshakeFailures = 0;
  let raw = await openRaw(target, rawConnections++);
  if (raw === null) throw new Error(`no raw handshake with ${options.host}:${options.port}: is the server running?`);
  let seeds = serverSeeds(raw, 1000);

  const byMutation: Record<string, number> = {};
  const kindCounts = new Array<number>(MUTATION_NAMES.length).fill(0);
  let sent = 0;
  let refused = 0;
  let sealed = 0;
  const started = performance.now();
  const deadline = started + options.secondsMax * 1000;
  let nextStatsMs = started + 1000;
  let nextReconnect = options.reconnectEvery;
  while (sent < options.datagrams && performance.now() < deadline) {
    for (let i = 0; i < BATCH && sent < options.datagrams; i++) {
      const datagram = mutator.mutate(seeds[prng.below(seeds.length)]!);
      const from = prng.below(10) < 6 ? raw.peer : strangers[prng.below(strangers.length)]!;
      if (!from.send(datagram)) refused++;
      sent++;
      kindCounts[mutator.kind]++;
      if (mutator.sealed) sealed++;
    }
    if (sent >= nextReconnect) {
      nextReconnect += options.reconnectEvery;
      const fresh = await openRaw(target, rawConnections++);
      if (fresh === null) rawHandshakeFailures++;
      else {
        raw.peer.close();
        raw = fresh;
        seeds = serverSeeds(raw, 1000);
      }
    }
    const now = performance.now();
    if (options.metricsUrl && now >= nextStatsMs) {
      nextStatsMs = now + 1000;
      const sample = await stats(options.metricsUrl);
      rssMaxBytes = Math.max(rssMaxBytes, sample.process.rssBytes);
      options.log(`fuzz: ${sent} sent, ${Math.round(sent / ((now - started) / 1000))}/s; server RSS ${(sample.process.rssBytes / 2 ** 20).toFixed(1)} MiB; echoes ${probe.echoed}/${probe.sent}, duplicates ${probe.duplicates}, out of order ${probe.outOfOrder}`);
    }
    // Pace to the rate; always yield so the probe client and the replies get their turn.
    const aheadMs = options.ratePerSecond > 0 ? (sent / options.ratePerSecond) * 1000 - (performance.now() - started) : 0;
    if (aheadMs > 1) await Bun.sleep(aheadMs);
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - started) / 1000;
  const probeConnection = probe.connectionStats();
  await probe.stop();
  raw.peer.close();
  for (const stranger of strangers) stranger.close();
  for (let i = 0; i < kindCounts.length; i++) if (kindCounts[i]! > 0) byMutation[MUTATION_NAMES[i]!] = kindCounts[i]!;

  let server: ServerFuzzResult["server"] = null;
  if (options.metricsUrl && before) {
    await Bun.sleep(500);
    const after = await stats(options.metricsUrl);
    const drops = delta(after.drops, before.drops);
    const dropsTotal = Object.values(drops).reduce((a, b) => a + b, 0);
    const receiveThreadDrops = RECEIVE_THREAD_DROPS.reduce((n, reason) => n + (drops[reason] ?? 0), 0);
    const arrived = after.packets.received.total - before.packets.received.total + receiveThreadDrops;
    server = {
      arrived,
      drops,
      dropsTotal,
      accepted: arrived - dropsTotal,
      rssBeforeBytes: before.process.rssBytes,
      rssMaxBytes: Math.max(rssMaxBytes, after.process.rssBytes),
      rssAfterBytes: after.process.rssBytes,
      connectionsActiveAfter: after.connections.active,
    };
  }
  return {
    seed: options.seed,
    datagramsSent: sent,
    sendRefused: refused,
    sealedSent: sealed,
    unsealedSent: sent - sealed,
    byMutation,
    seconds,
    datagramsPerSecond: Math.round(sent / seconds),
    rawConnections,
    rawHandshakeFailures,
    client: { sent: probe.sent, echoed: probe.echoed, duplicates: probe.duplicates, outOfOrder: probe.outOfOrder, broadcastsReceived: probe.broadcastsReceived, maxEchoGapMs: Math.round(probe.maxEchoGapMs), maxTickGapMs: Math.round(probe.maxTickGapMs), connection: probeConnection, closed: probe.closed },
    server,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      spawn: { type: "boolean", default: false },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      metrics: { type: "string" },
      datagrams: { type: "string", default: "200000" },
      rate: { type: "string", default: "40000" },
      seed: { type: "string", default: "1" },
      "seconds-max": { type: "string", default: "3600" },
      driver: { type: "string", default: "auto" },
    },
  });
  let stop: (() => Promise<unknown>) | null = null;
  let port = Number(values.port);
  let metricsUrl = values.metrics ?? null;
  let serverOutput = () => "";
  let serverAlive = () => true;
  if (values.spawn) {
    const { startServerProcess, freePort } = await import("../../test/support/serverProcess.ts");
    const server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort()), "--driver", values.driver!]);
    port = server.udpPort;
    metricsUrl = server.metricsUrl;
    serverOutput = server.output;
    serverAlive = () => server.process.exitCode === null;
    stop = () => server.stop("SIGTERM");
  } else if (!values.port) {
    console.error("serverFuzz: give --port <udp port> [--metrics <url>] of a running server, or --spawn");
    process.exit(2);
  }
  const result = await runServerFuzz({
    ...defaultServerFuzzOptions,
    host: values.host!,
    port,
    metricsUrl,
    datagrams: Number(values.datagrams),
    ratePerSecond: Number(values.rate),
    seed: Number(values.seed),
    secondsMax: Number(values["seconds-max"]),
    log: (line) => console.error(line),
  });
  const alive = serverAlive();
  const exitCode = stop ? await stop() : null;
  const serverErrors = serverOutput().split("\n").filter((l) => /error|unhandled|exception/i.test(l)).slice(0, 10);
  const failures = [
    ...(alive ? [] : ["the server process died"]),
    ...(serverErrors.length > 0 ? ["the server logged errors"] : []),
    ...((result.server?.drops["internal-error"] ?? 0) > 0 ? ["internal-error drops"] : []),
    ...(result.client.echoed < result.client.sent ? [`echoes missing: ${result.client.echoed}/${result.client.sent}`] : []),
    ...(result.client.duplicates + result.client.outOfOrder > 0 ? ["echoes duplicated or out of order"] : []),
  ];
  console.log(JSON.stringify({ ...result, serverAliveAtEnd: alive, serverExitCode: exitCode, serverErrors, pass: failures.length === 0, failures }));
  process.exit(failures.length === 0 ? 0 : 1);
}
