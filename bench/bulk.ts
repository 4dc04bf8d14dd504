// Closed-loop one-connection bulk benchmark: bun-rudp against Bun TCP in the same run.
//
// Each trial runs a receiver and a sender in two processes of their own. The sender writes
// while `send()` (TCP: `write()`) takes the whole message and waits for "drain" otherwise;
// the receiver counts bytes. Goodput is what the receiver counted over a measured window
// that starts after a warm-up from its first byte. Trials interleave systems, so every
// repetition compares them under the same machine load.
//
//   ./scripts/bun bench/bulk.ts                      # rudp-native and tcp, 1200 B and 64 KiB, 3 reps
//   ./scripts/bun bench/bulk.ts --sizes 1200 --systems rudp-native --trace /tmp/trace.tsv
//
// --trace writes the rudp sender's state every 50 ms (cwnd, bytes in flight, RTT, losses) as
// tab-separated lines: what the congestion controller and pacer did during the run.

import { parseArgs } from "node:util";
import { createServer, connect, type CongestionControlName } from "../src/index.ts";
import type { RudpConnection } from "../src/runtime/rudpConnection.ts";
import { machineBanner } from "./machine.ts";

const SYSTEMS = ["rudp-native", "rudp-fallback", "tcp"] as const;
type SystemName = (typeof SYSTEMS)[number];
const TRACE_INTERVAL_MS = 50;

interface TrialSpec {
  system: SystemName;
  sizeBytes: number;
  warmupSeconds: number;
  seconds: number;
  congestionControl?: CongestionControlName;
  mtuBytes?: number;
  trace?: string;
}

interface ReceiverResult {
  bytes: number;
  messages: number;
  seconds: number;
  cpuPercent: number;
}

interface SenderResult {
  cpuPercent: number;
  stats?: Record<string, unknown>;
}

interface TrialResult extends TrialSpec {
  megabytesPerSecond: number;
  receiverCpuPercent: number;
  senderCpuPercent: number;
  senderStats?: Record<string, unknown>;
}

const usage = `usage: bun bench/bulk.ts [options]
  --systems a,b     ${SYSTEMS.join(", ")} (default rudp-native,tcp)
  --sizes n,m       message sizes in bytes (default 1200,65536)
  --reps n          repetitions (default 3)
  --seconds s       measured window per trial (default 3)
  --warmup s        unmeasured start of each trial (default 1)
  --cc name         rudp congestion controller (default: the engine's)
  --mtu n           rudp mtuBytes (default: the engine's)
  --trace file      rudp sender state every ${TRACE_INTERVAL_MS} ms (tab-separated; one file per trial: file.N)
  --json file       write every trial's result as JSON`;

// ---------------------------------------------------------------------------------- roles

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Counts bytes; reports the measured window once, then exits. */
async function runReceiver(spec: TrialSpec): Promise<void> {
  let bytes = 0;
  let messages = 0;
  let firstByteMs = -1;
  const onBytes = (length: number) => {
    if (firstByteMs < 0) {
      firstByteMs = performance.now();
      scheduleMeasurement();
    }
    bytes += length;
    messages++;
  };
  const scheduleMeasurement = () => {
    setTimeout(() => {
      const startBytes = bytes;
      const startMessages = messages;
      const startMs = performance.now();
      const startCpu = cpuMicros();
      setTimeout(() => {
        const seconds = (performance.now() - startMs) / 1000;
        const result: ReceiverResult = {
          bytes: bytes - startBytes,
          messages: messages - startMessages,
          seconds,
          cpuPercent: (100 * (cpuMicros() - startCpu)) / 1e6 / seconds,
        };
        console.log(JSON.stringify({ result }));
        process.exit(0);
      }, spec.seconds * 1000);
    }, spec.warmupSeconds * 1000);
  };
  if (spec.system === "tcp") {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (_socket, data) => onBytes(data.length) },
    });
    console.log(JSON.stringify({ port: listener.port }));
    return;
  }
  const server = createServer({
    host: "127.0.0.1",
    port: 0,
    driver: spec.system === "rudp-native" ? "native" : "fallback",
    mtuBytes: spec.mtuBytes,
    congestionControl: spec.congestionControl,
  });
  server.on("connection", (connection: RudpConnection) => {
    connection.on("message", (_channel, data) => onBytes(data.length));
  });
  const address = await server.listen();
  console.log(JSON.stringify({ port: address.port }));
}

/** Writes while the transport takes whole messages; stops after the trial's span. */
async function runSender(spec: TrialSpec, port: number): Promise<void> {
  const message = new Uint8Array(spec.sizeBytes);
  for (let k = 0; k < message.length; k++) message[k] = k & 0xff;
  const spanMs = (spec.warmupSeconds + spec.seconds + 1) * 1000;
  const startMs = performance.now();
  const startCpu = cpuMicros();
  const finish = (stats?: Record<string, unknown>) => {
    const seconds = (performance.now() - startMs) / 1000;
    const result: SenderResult = { cpuPercent: (100 * (cpuMicros() - startCpu)) / 1e6 / seconds, stats };
    console.log(JSON.stringify({ result }));
    process.exit(0);
  };
  if (spec.system === "tcp") {
    let pending: Uint8Array | null = null;
    const pump = (socket: Bun.Socket) => {
      for (;;) {
        const data: Uint8Array = pending ?? message;
        const written = socket.write(data);
        if (written < data.length) {
          pending = data.subarray(Math.max(written, 0));
          return; // the socket calls drain when the kernel takes more
        }
        pending = null;
      }
    };
    await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { open: (socket) => { socket.setNoDelay(true); pump(socket); }, drain: pump, data: () => {} },
    });
    setTimeout(() => finish(), spanMs);
    return;
  }
  const connection = await connect("127.0.0.1", port, {
    driver: spec.system === "rudp-native" ? "native" : "fallback",
    mtuBytes: spec.mtuBytes,
    congestionControl: spec.congestionControl,
    exclusiveSocket: true,
  });
  const pump = () => {
    while (connection.send(0, message)) {}
  };
  connection.on("drain", pump);
  pump();
  const trace = spec.trace === undefined ? null : startTrace(connection, spec.trace);
  setTimeout(() => {
    trace?.stop();
    const stats = connection.stats();
    finish(stats === null ? undefined : { ...stats, remote: undefined });
  }, spanMs);
}

/** The sender's state every TRACE_INTERVAL_MS: where a slow run spends its time. */
function startTrace(connection: RudpConnection, path: string): { stop(): void } {
  const lines = ["ms\tcwnd_bytes\tin_flight_bytes\trtt_smoothed_us\trtt_latest_us\trtt_min_us\tsent_mb\tpackets_sent\tlost\tretransmitted\tspurious\tbuffered_bytes"];
  const startMs = performance.now();
  const timer = setInterval(() => {
    const s = connection.stats();
    if (s === null) return;
    lines.push([
      Math.round(performance.now() - startMs), s.congestionWindowBytes, s.bytesInFlight,
      Math.round(s.rttSmoothedUs), Math.round(s.latestRttUs), Math.round(s.rttMinUs),
      (s.bytesSent / 1e6).toFixed(2), s.packetsSent, s.packetsLost, s.packetsRetransmitted, s.spuriousRetransmissions,
      connection.bufferedBytes,
    ].join("\t"));
  }, TRACE_INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
      Bun.write(path, lines.join("\n") + "\n");
    },
  };
}

// ---------------------------------------------------------------------------- orchestrator

/** Starts `bench/bulk.ts` in a role; yields each JSON line it prints. */
function spawnRole(role: "receiver" | "sender", spec: TrialSpec, port = 0) {
  const child = Bun.spawn([process.execPath, import.meta.path, "--role", role, "--spec", JSON.stringify(spec), "--port", String(port)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let buffered = "";
  const nextLine = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith("{")) return JSON.parse(line);
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`the ${role} exited (code ${await child.exited}) before reporting`);
      buffered += new TextDecoder().decode(value);
    }
  };
  return { child, nextLine };
}

async function runTrial(spec: TrialSpec): Promise<TrialResult> {
  const receiver = spawnRole("receiver", spec);
  const deadline = setTimeout(() => receiver.child.kill(), (spec.warmupSeconds + spec.seconds + 30) * 1000);
  try {
    const { port } = (await receiver.nextLine()) as { port: number };
    const sender = spawnRole("sender", spec, port);
    const { result } = (await receiver.nextLine()) as { result: ReceiverResult };
    const senderReport = (await sender.nextLine()) as { result: SenderResult };
    await sender.child.exited;
    return {
      ...spec,
      megabytesPerSecond: result.bytes / result.seconds / 1e6,
      receiverCpuPercent: result.cpuPercent,
      senderCpuPercent: senderReport.result.cpuPercent,
      senderStats: senderReport.result.stats,
    };
  } finally {
    clearTimeout(deadline);
    receiver.child.kill();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarise(results: TrialResult[], systems: SystemName[], sizes: number[]): void {
  console.log("\n| size | system | median MB/s | min-max MB/s | receiver CPU % | sender CPU % | vs tcp |");
  console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
  for (const size of sizes) {
    const tcp = results.filter((r) => r.sizeBytes === size && r.system === "tcp").map((r) => r.megabytesPerSecond);
    for (const system of systems) {
      const runs = results.filter((r) => r.sizeBytes === size && r.system === system);
      if (runs.length === 0) continue;
      const rates = runs.map((r) => r.megabytesPerSecond);
      const ratio = tcp.length > 0 && system !== "tcp" ? `${(median(rates) / median(tcp)).toFixed(2)}x` : "";
      console.log(`| ${size} | ${system} | ${median(rates).toFixed(1)} | ${Math.min(...rates).toFixed(1)}-${Math.max(...rates).toFixed(1)} | ` +
        `${median(runs.map((r) => r.receiverCpuPercent)).toFixed(0)} | ${median(runs.map((r) => r.senderCpuPercent)).toFixed(0)} | ${ratio} |`);
    }
  }
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        role: { type: "string" }, spec: { type: "string" }, port: { type: "string" },
        systems: { type: "string", default: "rudp-native,tcp" }, sizes: { type: "string", default: "1200,65536" },
        reps: { type: "string", default: "3" }, seconds: { type: "string", default: "3" }, warmup: { type: "string", default: "1" },
        cc: { type: "string" }, mtu: { type: "string" }, trace: { type: "string" }, json: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(usage);
    return;
  }
  if (parsed.role === "receiver") return runReceiver(JSON.parse(parsed.spec!));
  if (parsed.role === "sender") return runSender(JSON.parse(parsed.spec!), Number(parsed.port));
  console.log(machineBanner());
  const systems = parsed.systems!.split(",") as SystemName[];
  const sizes = parsed.sizes!.split(",").map(Number);
  const reps = Number(parsed.reps);
  const bad = systems.find((s) => !SYSTEMS.includes(s)) ?? (sizes.some((s) => !(s > 0)) ? "size" : reps > 0 ? undefined : "reps");
  if (bad !== undefined) {
    console.error(`bad value for ${bad}\n${usage}`);
    process.exit(2);
  }
  const results: TrialResult[] = [];
  let trialNumber = 0;
  for (let rep = 0; rep < reps; rep++) {
    for (const sizeBytes of sizes) {
      for (const system of systems) {
        const spec: TrialSpec = {
          system, sizeBytes, warmupSeconds: Number(parsed.warmup), seconds: Number(parsed.seconds),
          congestionControl: parsed.cc as CongestionControlName | undefined,
          mtuBytes: parsed.mtu === undefined ? undefined : Number(parsed.mtu),
          trace: parsed.trace !== undefined && system !== "tcp" ? `${parsed.trace}.${trialNumber}` : undefined,
        };
        trialNumber++;
        const result = await runTrial(spec);
        results.push(result);
        const s = result.senderStats as { packetsLost?: number; spuriousRetransmissions?: number } | undefined;
        console.log(`rep ${rep + 1} ${system} ${sizeBytes} B: ${result.megabytesPerSecond.toFixed(1)} MB/s, ` +
          `CPU receiver ${result.receiverCpuPercent.toFixed(0)} % sender ${result.senderCpuPercent.toFixed(0)} %` +
          (s ? `, lost ${s.packetsLost}, spurious ${s.spuriousRetransmissions}` : "") + (spec.trace ? `, trace ${spec.trace}` : ""));
      }
    }
  }
  summarise(results, systems, sizes);
  if (parsed.json !== undefined) await Bun.write(parsed.json, JSON.stringify(results, null, 2));
}

await main();
