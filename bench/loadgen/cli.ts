// bun run loadgen: an open-loop load generator for bun-rudp and its peers (raw UDP, TCP, KCP).
// Run with --help for the flags. Latency is measured from each message's intended send time
// (coordinated-omission corrected); loss and duplication are checked by sequence number.

import { parseArgs } from "node:util";
import type { DeliveryMode } from "../../src/protocol/api.ts";
import { describeImpairment, parseImpairment } from "./impairment.ts";
import { cpuPercentBetween, type ProcessSample, sampleProcessTree } from "./processStats.ts";
import { formatSummary, ProgressDisplay } from "./report.ts";
import { mergeResults, type RunSummary, type ServerStatsSummary, type WorkerResult } from "./results.ts";
import { keepStreamTail, killChildrenOnSignal, trackChild, fetchRudpStats, type LaunchedServer, launchServer, readJsonLines, repositoryRoot } from "./serverLauncher.ts";
import { kcpClientCommand } from "./systems/kcp.ts";
import { type SystemName, systemNames } from "./systems/types.ts";
import { runWorkload, type WorkloadProgress, type WorkloadSpec } from "./workload.ts";
import { messageHeaderBytes } from "./messageHeader.ts";

const deliveryModes: readonly DeliveryMode[] = ["reliable-ordered", "reliable-unordered", "unreliable", "unreliable-sequenced"];

export const usage = `usage: bun run loadgen --system SYSTEM (--spawn-server | --port PORT) [options]

  --system S            ${systemNames.join(" | ")}
  --spawn-server        start the system's server on loopback (peers in bench/peers, or src/server/cli.ts)
  --host H              server host (default 127.0.0.1; loopback only)
  --port P              port of an already running server
  --metrics-port P      /stats port of an already running bun-rudp server (for its CPU, RSS, retransmissions)
  --server-workers N    --workers for a spawned bun-rudp server (default 1)
  --connections N       connections in total (default 10)
  --rate R              messages per second in total, open loop (default 10000; 0 = connect and stay idle)
  --size B              message bytes, >= ${messageHeaderBytes} (default 64)
  --duration S          seconds of sending (default 5)
  --drain S             seconds to wait for messages in flight afterwards (default 2)
  --mode M              bun-rudp delivery mode: ${deliveryModes.join(" | ")} (default reliable-ordered)
  --congestion C        bun-rudp congestion control (newreno | cubic | adaptive)
  --processes N         client processes, results merged (default 1)
  --connect-concurrency N  connections opened at once per process (default 100)
  --pacing P            precise (default: sub-ms sends, spins the event loop in the last ms before
                        a send) | timer (setTimeout only: 1 ms bursts, less client CPU)
  --proxy SPEC          put the impairment proxy between client and server:
                        loss=5%,burst=3,dup=1%,delay=2,jitter=1,corrupt=0.1%,rate=100,queue=262144,seed=1
                        (TCP: delay, jitter and rate only)
  --json FILE           write the summary as JSON
  --quiet               no progress output
  -h, --help`;

export interface LoadgenOptions {
  system: SystemName;
  host: string;
  port: number | null;
  spawnServer: boolean;
  metricsPort: number | null;
  serverWorkers: number;
  connections: number;
  rate: number;
  size: number;
  duration: number;
  drain: number;
  mode: DeliveryMode;
  congestion?: string;
  processes: number;
  connectConcurrency: number;
  pacing: "timer" | "precise";
  proxy: string | null;
  json: string | null;
  quiet: boolean;
}

export class UsageError extends Error {}

function numberFlag(values: Record<string, unknown>, name: string, fallback: number, minimum: number, integer = true): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < minimum || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? "an integer" : "a number"} >= ${minimum}, got "${raw}"`);
  }
  return value;
}

export function parseLoadgenArgs(argv: string[]): LoadgenOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        system: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string" },
        "spawn-server": { type: "boolean", default: false },
        "metrics-port": { type: "string" },
        "server-workers": { type: "string" },
        connections: { type: "string" },
        rate: { type: "string" },
        size: { type: "string" },
        duration: { type: "string" },
        drain: { type: "string" },
        mode: { type: "string", default: "reliable-ordered" },
        congestion: { type: "string" },
        processes: { type: "string" },
        "connect-concurrency": { type: "string" },
        pacing: { type: "string", default: "precise" },
        proxy: { type: "string" },
        json: { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]);
  }
  const values = parsed.values;
  if (values.help) return "help";
  if (values.system === undefined) throw new UsageError("--system is required");
  if (!systemNames.includes(values.system as SystemName)) throw new UsageError(`--system must be one of ${systemNames.join(", ")}, got "${values.system}"`);
  if (!deliveryModes.includes(values.mode as DeliveryMode)) throw new UsageError(`--mode must be one of ${deliveryModes.join(", ")}, got "${values.mode}"`);
  const host = values.host!;
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) throw new UsageError(`--host must be a loopback address, got "${host}"`);
  const port = values.port === undefined ? null : numberFlag(values, "port", 0, 1);
  if (port !== null && port > 65535) throw new UsageError("--port must be <= 65535");
  if (!values["spawn-server"] && port === null) throw new UsageError("give --spawn-server or --port of a running server");
  if (values.proxy !== undefined) {
    try {
      parseImpairment(values.proxy);
    } catch (error) {
      throw new UsageError(`--proxy: ${(error as Error).message}`);
    }
  }
  const options: LoadgenOptions = {
    system: values.system as SystemName,
    host: host === "localhost" ? "127.0.0.1" : host,
    port,
    spawnServer: values["spawn-server"]!,
    metricsPort: values["metrics-port"] === undefined ? null : numberFlag(values, "metrics-port", 0, 1),
    serverWorkers: numberFlag(values, "server-workers", 1, 1),
    connections: numberFlag(values, "connections", 10, 1),
    rate: numberFlag(values, "rate", 10_000, 0, false),
    size: numberFlag(values, "size", 64, messageHeaderBytes),
    duration: numberFlag(values, "duration", 5, 0.1, false),
    drain: numberFlag(values, "drain", 2, 0, false),
    mode: values.mode as DeliveryMode,
    congestion: values.congestion,
    processes: numberFlag(values, "processes", 1, 1),
    connectConcurrency: numberFlag(values, "connect-concurrency", 100, 1),
    pacing: "precise",
    proxy: values.proxy ?? null,
    json: values.json ?? null,
    quiet: values.quiet!,
  };
  if (values.pacing !== "precise" && values.pacing !== "timer") throw new UsageError(`--pacing must be precise or timer, got "${values.pacing}"`);
  options.pacing = values.pacing;
  if (options.processes > options.connections) throw new UsageError("--processes must be <= --connections");
  if (options.size > 1 << 20) throw new UsageError("--size must be <= 1048576");
  return options;
}

interface ProxyHandle {
  port: number;
  stop(): Promise<unknown>;
}

async function startProxyProcess(options: LoadgenOptions, targetHost: string, targetPort: number): Promise<ProxyHandle> {
  const command = [process.execPath, `${repositoryRoot}/bench/loadgen/proxyCli.ts`, "--target", `${targetHost}:${targetPort}`, "--listen", `${options.host}:0`, "--impair", options.proxy!];
  if (options.system === "tcp") command.push("--tcp");
  const child = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  trackChild(child.pid);
  const stderr = keepStreamTail(child.stderr);
  let counters: unknown = null;
  let resolvePort: (port: number) => void;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  void readJsonLines(child.stdout, (line) => {
    if (line.listening) resolvePort((line.listening as { port: number }).port);
    if (line.counters) counters = line.counters;
  });
  const listening = await Promise.race([port, child.exited.then(() => null), Bun.sleep(10_000).then(() => null)]);
  if (listening === null) {
    child.kill("SIGKILL");
    throw new Error(`impairment proxy did not start: ${stderr.text().slice(-300)}`);
  }
  return {
    port: listening,
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([child.exited, Bun.sleep(3000)]);
      await Bun.sleep(50); // let the last stdout line through the reader
      return counters;
    },
  };
}

interface WorkerShare {
  connections: number;
  firstConnection: number;
  rate: number;
}

function splitWork(options: LoadgenOptions): WorkerShare[] {
  const shares: WorkerShare[] = [];
  let first = 0;
  for (let i = 0; i < options.processes; i++) {
    const connections = Math.floor(options.connections / options.processes) + (i < options.connections % options.processes ? 1 : 0);
    shares.push({ connections, firstConnection: first, rate: (options.rate * connections) / options.connections });
    first += connections;
  }
  return shares;
}

function workerSpec(options: LoadgenOptions, host: string, port: number, share: WorkerShare): WorkloadSpec {
  return {
    system: options.system,
    host,
    port,
    connections: share.connections,
    firstConnection: share.firstConnection,
    ratePerSecond: share.rate,
    sizeBytes: options.size,
    durationSeconds: options.duration,
    drainSeconds: options.drain,
    mode: options.mode,
    congestionControl: options.congestion,
    connectConcurrency: options.connectConcurrency,
    pacing: options.pacing,
  };
}

type ProgressSink = (worker: number, progress: Partial<WorkloadProgress>) => void;

/** Runs one share in a child process (this CLI in --worker mode, or the Go KCP client). */
async function runChildWorker(command: string[], worker: number, onProgress: ProgressSink): Promise<WorkerResult> {
  const child = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: repositoryRoot });
  trackChild(child.pid);
  const stderr = keepStreamTail(child.stderr);
  let result: WorkerResult | null = null;
  await readJsonLines(child.stdout, (line) => {
    if (line.progress) onProgress(worker, line.progress as WorkloadProgress);
    else if (line.phase) onProgress(worker, { phase: line.phase as WorkloadProgress["phase"] });
    else if (line.result) result = line.result as WorkerResult;
    else if (line.system) result = line as unknown as WorkerResult;
  });
  await child.exited;
  if (result === null) throw new Error(`worker ${worker} failed (exit ${child.exitCode}): ${stderr.text().slice(-500)}`);
  return result;
}

function runShare(options: LoadgenOptions, host: string, port: number, share: WorkerShare, worker: number, onProgress: ProgressSink): Promise<WorkerResult> {
  if (options.system === "kcp") {
    const command = kcpClientCommand(workerSpec(options, host, port, share));
    return runChildWorker(command, worker, onProgress);
  }
  const spec = workerSpec(options, host, port, share);
  if (options.processes === 1) return runWorkload(spec, (progress) => onProgress(worker, progress));
  return runChildWorker([process.execPath, import.meta.path, "--worker", JSON.stringify(spec)], worker, onProgress);
}

/** Samples the server from the moment the first worker starts sending; tracks its peak RSS. */
class ServerMonitor {
  private start: ProcessSample | null = null;
  private empty: ProcessSample | null = null;
  private rssBytesMax = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private statsBefore: Record<string, any> | null = null;

  constructor(private readonly server: LaunchedServer | null, private readonly host: string, private readonly metricsPort: number | null) {}

  async begin(): Promise<void> {
    if (this.server !== null) this.empty = sampleProcessTree(this.server.pid);
    if (this.metricsPort !== null) this.statsBefore = await fetchRudpStats(this.host, this.metricsPort);
    this.timer = setInterval(() => {
      if (this.server !== null) this.rssBytesMax = Math.max(this.rssBytesMax, sampleProcessTree(this.server.pid).rssBytes);
    }, 500);
  }

  sendingStarted(): void {
    if (this.start === null && this.server !== null) this.start = sampleProcessTree(this.server.pid);
  }

  async end(): Promise<ServerStatsSummary | null> {
    if (this.timer !== null) clearInterval(this.timer);
    const statsAfter = this.metricsPort !== null ? await fetchRudpStats(this.host, this.metricsPort) : null;
    let summary: ServerStatsSummary | null = null;
    if (this.server !== null && this.empty !== null) {
      const end = sampleProcessTree(this.server.pid);
      const start = this.start ?? this.empty;
      summary = {
        cpuPercent: Math.round(cpuPercentBetween(start, end) * 10) / 10,
        rssBytesStart: this.empty.rssBytes,
        rssBytesEnd: end.rssBytes,
        rssBytesMax: Math.max(this.rssBytesMax, end.rssBytes),
        source: "proc",
      };
    } else if (statsAfter !== null) {
      summary = { cpuPercent: statsAfter.process?.cpuPercent ?? 0, rssBytesStart: this.statsBefore?.process?.rssBytes ?? 0, rssBytesEnd: statsAfter.process?.rssBytes ?? 0, rssBytesMax: statsAfter.process?.rssBytes ?? 0, source: "stats-endpoint" };
    }
    if (summary !== null && this.metricsPort !== null && statsAfter === null) summary.statsError = "GET /stats gave no stats: server retransmissions not counted";
    if (summary !== null && statsAfter !== null) {
      const delta = (path: (s: Record<string, any>) => number | undefined) => (path(statsAfter) ?? 0) - (this.statsBefore ? (path(this.statsBefore) ?? 0) : 0);
      // Ack-eliciting packets: ACK-only ones are never retransmitted and would flatter the ratio.
      summary.packetsSent = delta((s) => s.loss?.ackElicitingPacketsSent ?? s.packets?.sent?.total);
      summary.packetsRetransmitted = delta((s) => s.loss?.packetsRetransmitted);
      summary.packetsLost = delta((s) => s.loss?.packetsLost);
    }
    return summary;
  }
}

export async function runLoadgen(options: LoadgenOptions, commandLine: string): Promise<RunSummary> {
  let server: LaunchedServer | null = null;
  let proxy: ProxyHandle | null = null;
  try {
    if (options.spawnServer) server = await launchServer(options.system, options.host, options.serverWorkers);
    const serverHost = server?.host ?? options.host;
    const serverPort = server?.port ?? options.port!;
    if (options.proxy !== null) proxy = await startProxyProcess(options, serverHost, serverPort);
    const targetPort = proxy?.port ?? serverPort;
    const monitor = new ServerMonitor(server, serverHost, server?.metricsPort ?? options.metricsPort);
    await monitor.begin();

    const shares = splitWork(options);
    const latest: Partial<WorkloadProgress>[] = shares.map(() => ({}));
    const display = new ProgressDisplay(Math.floor(options.rate * options.duration), performance.now());
    const onProgress: ProgressSink = (worker, progress) => {
      latest[worker] = { ...latest[worker], ...progress };
      if (progress.phase === "sending") monitor.sendingStarted();
      if (options.quiet) return;
      const total = (pick: (p: Partial<WorkloadProgress>) => number | undefined) => latest.reduce((sum, p) => sum + (pick(p) ?? 0), 0);
      display.update(total((p) => p.sent), total((p) => p.received), total((p) => p.connected));
    };
    const results = await Promise.all(shares.map((share, worker) => runShare(options, options.host, targetPort, share, worker, onProgress)));
    if (!options.quiet) display.finish();
    const serverSummary = await monitor.end();
    const proxyCounters = proxy !== null ? await proxy.stop() : null;
    proxy = null;
    const workload = {
      connections: options.connections,
      rate: options.rate,
      size: options.size,
      duration: options.duration,
      mode: options.mode,
      processes: options.processes,
      proxy: options.proxy === null ? null : describeImpairment(parseImpairment(options.proxy)),
      serverWorkers: options.serverWorkers,
      pacing: options.system === "kcp" ? "go-sleep" : options.pacing,
    };
    return mergeResults(results, { system: options.system, workload, command: commandLine, processes: options.processes }, serverSummary, proxyCounters);
  } finally {
    await proxy?.stop();
    await server?.stop();
  }
}

async function workerMain(specJson: string): Promise<void> {
  const spec = JSON.parse(specJson) as WorkloadSpec;
  const result = await runWorkload(spec, (progress) => console.log(JSON.stringify({ progress })));
  console.log(JSON.stringify({ result }));
  process.exit(0);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--worker" && argv[1] !== undefined) return workerMain(argv[1]);
  let options: LoadgenOptions | "help";
  try {
    options = parseLoadgenArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`loadgen: ${error.message} (see --help)`);
      process.exit(2);
    }
    throw error;
  }
  if (options === "help") {
    console.log(usage);
    return;
  }
  killChildrenOnSignal();
  const summary = await runLoadgen(options, `bun run loadgen ${argv.join(" ")}`);
  console.log(formatSummary(summary));
  if (options.json !== null) await Bun.write(options.json, `${JSON.stringify(summary, null, 2)}\n`);
  process.exit(summary.delivered > 0 || options.rate === 0 ? 0 : 1);
}

if (import.meta.main) await main();
