// Soak: the real server process, a steady echo load at a given rate from several connections,
// all through the user-space impairment proxy (bench/loadgen/impairmentProxy.ts) with 1% loss
// each way. Every second: server RSS (GET /stats), the application's p99 echo RTT, messages
// delivered. Writes samples.csv, samples.json and rss-rtt.svg; passes when the second half
// shows no upward RSS trend (fitted slope under a bound) and no second went without delivery.
//
//   bun tools/soak/run.ts [--seconds 3600] [--rate 2000] [--connections 8] [--loss 0.01]
//       [--message-bytes 64] [--seed 1] [--out /tmp/rudp-soak] [--driver auto]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connect, type RudpConnection } from "../../src/index.ts";
import { defaultProxyOptions, startImpairmentProxy } from "../../bench/loadgen/impairmentProxy.ts";
import { noImpairment } from "../../bench/loadgen/impairment.ts";
import type { StatsSnapshot } from "../../src/metrics/statsSchema.ts";
import { freePort, startServerProcess } from "../../test/support/serverProcess.ts";
import { soakChartSvg } from "./svgChart.ts";
import { linearFit, percentile } from "./trend.ts";

export interface SoakOptions {
  seconds: number;
  ratePerSecond: number;
  connections: number;
  lossRate: number;
  messageBytes: number;
  seed: number;
  outDir: string | null;
  driver: "auto" | "native" | "fallback";
  /** Bound on the fitted RSS slope over the second half; default: 6 MiB across that half, at least 2 KiB/s. */
  rssSlopeBytesPerSecondMax?: number;
  log: (line: string) => void;
}

export interface SoakSample {
  second: number;
  rssBytes: number;
  heapUsedBytes: number;
  sent: number;
  delivered: number;
  refused: number;
  appRttP50Ms: number;
  appRttP99Ms: number;
  /** The server's own protocol RTT p99 over its last one-second window. */
  serverRttP99Us: number;
  serverPacketsLost: number;
  connectionsActive: number;
  /** Longest gap between this process's 10 ms send ticks in the second: > 500 ms means the load
   *  generator itself froze (the machine, GC), and a second without delivery is not the server's. */
  loadGeneratorTickGapMaxMs: number;
}

export interface SoakResult {
  options: Omit<SoakOptions, "log">;
  samples: SoakSample[];
  sentTotal: number;
  deliveredTotal: number;
  refusedTotal: number;
  closedConnections: string[];
  rssSlopeBytesPerSecond: number;
  rssSlopeBytesPerSecondMax: number;
  heapSlopeBytesPerSecond: number;
  heapSlopeBytesPerSecondMax: number;
  stalledSeconds: number[];
  /** Seconds in which the load generator itself froze (tick gap > 500 ms): not judged. */
  loadGeneratorFrozenSeconds: number[];
  proxy: { clientToServerLost: number; serverToClientLost: number };
  pass: boolean;
  failures: string[];
  files: string[];
}

const TICK_MS = 10;
/** Samples before the first full second of load are warm-up and are not judged. */
const WARMUP_SECONDS = 2;
const GENERATOR_FROZEN_MS = 500;

async function fetchStats(url: string): Promise<StatsSnapshot> {
  return (await (await fetch(`${url}/stats`)).json()) as StatsSnapshot;
}

class EchoLoad {
  sent = 0;
  delivered = 0;
  refused = 0;
  rttsMs: number[] = [];
  readonly closed: string[] = [];
  private next = 0;
  private readonly message: Uint8Array;
  private readonly view: DataView;

  constructor(
    private readonly connections: RudpConnection[],
    messageBytes: number,
  ) {
    this.message = new Uint8Array(Math.max(8, messageBytes));
    this.view = new DataView(this.message.buffer);
    for (const connection of connections) {
      connection.on("message", (_channel, data) => {
        const sentAtMs = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(0, true);
        this.delivered++;
        if (this.rttsMs.length < 1_000_000) this.rttsMs.push(performance.now() - sentAtMs);
      });
      connection.on("close", (info) => this.closed.push(info.reason));
    }
  }

  sendOne(): void {
    const connection = this.connections[this.next++ % this.connections.length]!;
    if (connection.closed) return;
    this.view.setFloat64(0, performance.now(), true);
    if (connection.send(0, this.message)) this.sent++;
    else this.refused++;
  }

  takeRtts(): number[] {
    const taken = this.rttsMs;
    this.rttsMs = [];
    return taken;
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const server = await startServerProcess(["--port", "0", "--metrics-port", String(await freePort()), "--driver", options.driver]);
  const proxy = await startImpairmentProxy({
    protocol: "udp",
    listenHost: "127.0.0.1",
    listenPort: 0,
    targetHost: "127.0.0.1",
    targetPort: server.udpPort,
    impairment: { ...noImpairment, lossRate: options.lossRate, seed: options.seed },
    ...defaultProxyOptions,
  });
  const connections: RudpConnection[] = [];
  const samples: SoakSample[] = [];
  let load: EchoLoad | null = null;
  let closedDuringSoak: string[] | null = null;
  try {
    for (let i = 0; i < options.connections; i++) connections.push(await connect("127.0.0.1", proxy.port, { exclusiveSocket: true }));
    load = new EchoLoad(connections, options.messageBytes);
    const started = performance.now();
    let lastSecond = { sent: 0, delivered: 0, refused: 0 };
    let lastTickMs = performance.now();
    let tickGapMaxMs = 0;
    const sender = setInterval(() => {
      const now = performance.now();
      tickGapMaxMs = Math.max(tickGapMaxMs, now - lastTickMs);
      lastTickMs = now;
      const due = Math.floor((options.ratePerSecond * (performance.now() - started)) / 1000) - load!.sent - load!.refused;
      const burst = Math.min(due, Math.ceil(options.ratePerSecond / 10)); // bounded per tick
      for (let i = 0; i < burst; i++) load!.sendOne();
    }, TICK_MS);
    try {
      for (let second = 1; second <= options.seconds; second++) {
        const wakeAt = started + second * 1000;
        await Bun.sleep(Math.max(0, wakeAt - performance.now()));
        const stats = await fetchStats(server.metricsUrl);
        const rtts = load.takeRtts();
        const sample: SoakSample = {
          second,
          rssBytes: stats.process.rssBytes,
          heapUsedBytes: stats.process.heapUsedBytes,
          sent: load.sent - lastSecond.sent,
          delivered: load.delivered - lastSecond.delivered,
          refused: load.refused - lastSecond.refused,
          appRttP50Ms: percentile(rtts, 50),
          appRttP99Ms: percentile(rtts, 99),
          serverRttP99Us: stats.rttUs.p99,
          serverPacketsLost: stats.loss.packetsLost,
          connectionsActive: stats.connections.active,
          loadGeneratorTickGapMaxMs: Math.round(Math.max(tickGapMaxMs, performance.now() - lastTickMs)),
        };
        tickGapMaxMs = 0;
        lastSecond = { sent: load.sent, delivered: load.delivered, refused: load.refused };
        samples.push(sample);
        if (second % 10 === 0 || second === options.seconds) {
          options.log(`soak ${second}/${options.seconds} s: RSS ${(sample.rssBytes / 2 ** 20).toFixed(1)} MiB, delivered ${sample.delivered}/s, app p99 ${sample.appRttP99Ms.toFixed(2)} ms, lost ${sample.serverPacketsLost}`);
        }
      }
    } finally {
      clearInterval(sender);
    }
    await Bun.sleep(500);
    closedDuringSoak = [...load.closed];
  } finally {
    for (const connection of connections) if (!connection.closed) await Promise.race([connection.close(), Bun.sleep(1000)]);
    const proxyCounters = proxy.counters();
    proxy.close();
    await server.stop("SIGTERM");
    return judge(options, samples, load, closedDuringSoak ?? load?.closed ?? [], proxyCounters);
  }
}

function judge(options: SoakOptions, samples: SoakSample[], load: EchoLoad | null, closed: string[], proxyCounters: ReturnType<Awaited<ReturnType<typeof startImpairmentProxy>>["counters"]>): SoakResult {
  const failures: string[] = [];
  const judged = samples.filter((s) => s.second > WARMUP_SECONDS);
  const secondHalf = judged.slice(Math.floor(judged.length / 2));
  const fit = linearFit(secondHalf.map((s) => s.second), secondHalf.map((s) => s.rssBytes));
  const halfSeconds = Math.max(1, secondHalf.length);
  // RSS moves in allocator-sized steps (a 60 s run sees +-4 MiB of noise with a flat heap), so
  // the bound is a total drift across the half; the JS heap, which is precise, gets its own.
  const slopeMax = options.rssSlopeBytesPerSecondMax ?? Math.max(2048, (6 * 2 ** 20) / halfSeconds);
  const heapFit = linearFit(secondHalf.map((s) => s.second), secondHalf.map((s) => s.heapUsedBytes));
  // Bun's heapUsed moves in steps after collections (flat for many seconds, then +1 MiB).
  const heapSlopeMax = Math.max(1024, (4 * 2 ** 20) / halfSeconds);
  if (heapFit.slope > heapSlopeMax) failures.push(`JS heap trend over the second half ${(heapFit.slope / 1024).toFixed(1)} KiB/s > ${(heapSlopeMax / 1024).toFixed(1)} KiB/s`);
  if (samples.length < options.seconds) failures.push(`only ${samples.length} of ${options.seconds} samples`);
  if (fit.slope > slopeMax) failures.push(`RSS trend over the second half ${(fit.slope / 1024).toFixed(1)} KiB/s > ${(slopeMax / 1024).toFixed(1)} KiB/s`);
  const frozen = (s: SoakSample) => s.loadGeneratorTickGapMaxMs > GENERATOR_FROZEN_MS;
  const loadGeneratorFrozenSeconds = judged.filter(frozen).map((s) => s.second);
  const stalledSeconds = judged.filter((s) => s.delivered === 0 && !frozen(s)).map((s) => s.second);
  if (stalledSeconds.length > 0) failures.push(`no delivery in second(s) ${stalledSeconds.join(", ")}`);
  if (closed.length > 0) failures.push(`connections closed during the soak: ${closed.join(", ")}`);
  const result: SoakResult = {
    options: { ...options, log: undefined } as unknown as Omit<SoakOptions, "log">,
    samples,
    sentTotal: load?.sent ?? 0,
    deliveredTotal: load?.delivered ?? 0,
    refusedTotal: load?.refused ?? 0,
    closedConnections: closed,
    rssSlopeBytesPerSecond: fit.slope,
    rssSlopeBytesPerSecondMax: slopeMax,
    heapSlopeBytesPerSecond: heapFit.slope,
    heapSlopeBytesPerSecondMax: heapSlopeMax,
    stalledSeconds,
    loadGeneratorFrozenSeconds,
    proxy: {
      clientToServerLost: proxyCounters.clientToServer.droppedRandom + proxyCounters.clientToServer.droppedBurst,
      serverToClientLost: proxyCounters.serverToClient.droppedRandom + proxyCounters.serverToClient.droppedBurst,
    },
    pass: failures.length === 0,
    failures,
    files: [],
  };
  if (options.outDir) writeOutputs(options.outDir, result, secondHalf[0]?.second ?? 0, fit);
  return result;
}

function writeOutputs(outDir: string, result: SoakResult, fitFrom: number, fit: { slope: number; intercept: number }): void {
  mkdirSync(outDir, { recursive: true });
  const columns = Object.keys(result.samples[0] ?? {}) as (keyof SoakSample)[];
  const csv = [columns.join(","), ...result.samples.map((s) => columns.map((c) => s[c]).join(","))].join("\n") + "\n";
  const files = [join(outDir, "samples.csv"), join(outDir, "samples.json"), join(outDir, "rss-rtt.svg")];
  writeFileSync(files[0]!, csv);
  writeFileSync(files[1]!, JSON.stringify({ ...result, files }, null, 1));
  const o = result.options;
  const title = `soak: ${o.seconds} s, ${o.ratePerSecond} msg/s over ${o.connections} connections, ${(o.lossRate * 100).toFixed(1)}% loss each way; RSS slope (2nd half) ${(fit.slope / 1024).toFixed(2)} KiB/s; ${result.pass ? "PASS" : "FAIL"}`;
  writeFileSync(files[2]!, soakChartSvg(result.samples, title, { fromSecond: fitFrom, ...fit }));
  result.files = files;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      rate: { type: "string", default: "2000" },
      connections: { type: "string", default: "8" },
      loss: { type: "string", default: "0.01" },
      "message-bytes": { type: "string", default: "64" },
      seed: { type: "string", default: "1" },
      out: { type: "string", default: `/tmp/rudp-soak-${Date.now()}` },
      driver: { type: "string", default: "auto" },
      "rss-slope-max": { type: "string" },
    },
  });
  const result = await runSoak({
    seconds: Math.min(86_400, Number(values.seconds)),
    ratePerSecond: Number(values.rate),
    connections: Number(values.connections),
    lossRate: Number(values.loss),
    messageBytes: Number(values["message-bytes"]),
    seed: Number(values.seed),
    outDir: values.out!,
    driver: values.driver as SoakOptions["driver"],
    rssSlopeBytesPerSecondMax: values["rss-slope-max"] ? Number(values["rss-slope-max"]) : undefined,
    log: (line) => console.error(line),
  });
  const { samples, ...summary } = result;
  console.log(JSON.stringify({ ...summary, samples: samples.length }, null, 1));
  process.exit(result.pass ? 0 : 1);
}
