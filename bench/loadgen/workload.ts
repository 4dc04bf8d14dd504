// Runs the client side of one workload in this process: opens the connections, sends on an
// open-loop schedule, checks what comes back by sequence, and returns a WorkerResult.

import * as hdr from "hdr-histogram-js";
import type { DeliveryMode } from "../../src/protocol/api.ts";
import { messageHeaderBytes, readActualSendUs, readConnectionIndex, readIntendedSendUs, readSequence, writeMessageHeader } from "./messageHeader.ts";
import { OpenLoopScheduler } from "./openLoopScheduler.ts";
import { newLatencyHistogram, type WorkerResult } from "./results.ts";
import { SequenceTracker } from "./sequenceTracker.ts";
import { RudpSystemClient } from "./systems/rudp.ts";
import { TcpSystemClient } from "./systems/tcp.ts";
import type { ClientConnection, SystemClient, SystemName } from "./systems/types.ts";
import { UdpSystemClient } from "./systems/udp.ts";

export interface WorkloadSpec {
  system: SystemName;
  host: string;
  port: number;
  connections: number;
  /** Global index of this worker's first connection (workers split the connections). */
  firstConnection: number;
  /** Messages per second over all of this worker's connections; 0 = idle (connect and hold). */
  ratePerSecond: number;
  sizeBytes: number;
  durationSeconds: number;
  /** After the send phase, how long to wait for messages still in flight. */
  drainSeconds: number;
  mode: DeliveryMode;
  congestionControl?: string;
  /** Connections opened at once while connecting. */
  connectConcurrency: number;
  /** "timer": wake on setTimeout only (1 ms granularity: sends go out in 1 ms bursts, and the
   *  intended-time latency shows it). "precise": the last millisecond before a send is waited
   *  out with setImmediate turns of the event loop (sub-ms sends, costs client CPU). */
  pacing: "timer" | "precise";
}

export interface WorkloadProgress {
  phase: "connecting" | "sending" | "draining";
  sent: number;
  received: number;
  connected: number;
}

const sendBatchMax = 4096;
const progressIntervalMs = 1000;

export function createSystemClient(spec: Pick<WorkloadSpec, "system" | "mode" | "congestionControl" | "connections">): SystemClient {
  switch (spec.system) {
    case "udp":
      return new UdpSystemClient();
    case "tcp":
      return new TcpSystemClient();
    case "rudp-native":
      return new RudpSystemClient("native", spec.mode, spec.congestionControl, spec.connections);
    case "rudp-fallback":
      return new RudpSystemClient("fallback", spec.mode, spec.congestionControl, spec.connections);
    case "kcp":
      throw new Error("kcp runs its own Go client (systems/kcp.ts)");
  }
}

export function nowUs(): number {
  return performance.now() * 1000;
}

class WorkloadRun {
  readonly rtt = newLatencyHistogram();
  readonly service = newLatencyHistogram();
  readonly tracker: SequenceTracker;
  readonly connections: ClientConnection[] = [];
  readonly sequences: Uint32Array;
  readonly errors: string[] = [];
  readonly sendBuffer: Uint8Array;
  connectFailures = 0;
  closedEarly = 0;
  backpressureWaits = 0;
  blocked = false;
  lastReceiveUs = 0;
  stopping = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private resolveSendPhase: (() => void) | null = null;
  scheduler: OpenLoopScheduler | null = null;
  private deadlineTimer: ReturnType<typeof setTimeout> | null = null;
  private sendingOver = false;
  private readonly tickBound = () => this.tick();

  constructor(readonly spec: WorkloadSpec, readonly client: SystemClient) {
    const perConnection = spec.ratePerSecond > 0 ? Math.ceil((spec.ratePerSecond * spec.durationSeconds) / spec.connections) + 16 : 16;
    this.tracker = new SequenceTracker(spec.firstConnection, spec.connections, perConnection);
    this.sequences = new Uint32Array(spec.connections);
    this.sendBuffer = new Uint8Array(spec.sizeBytes);
    for (let i = messageHeaderBytes; i < spec.sizeBytes; i++) this.sendBuffer[i] = i & 0xff;
  }

  recordError(message: string): void {
    if (this.errors.length < 20) this.errors.push(message);
  }

  onMessage(data: Uint8Array): void {
    if (data.length < messageHeaderBytes) {
      this.tracker.untracked++;
      return;
    }
    const receivedUs = nowUs();
    if (!this.tracker.mark(readConnectionIndex(data), readSequence(data))) return;
    this.lastReceiveUs = receivedUs;
    this.rtt.recordValue(Math.max(1, Math.round(receivedUs - readIntendedSendUs(data))));
    this.service.recordValue(Math.max(1, Math.round(receivedUs - readActualSendUs(data))));
  }

  onDrain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.schedule(0);
  }

  async connectAll(onProgress: (progress: WorkloadProgress) => void): Promise<void> {
    const spec = this.spec;
    const handlers = {
      onMessage: (data: Uint8Array) => this.onMessage(data),
      onDrain: () => this.onDrain(),
      onClose: (error: Error | null) => {
        if (this.stopping) return;
        this.closedEarly++;
        if (error !== null) this.recordError(`connection closed: ${error.message}`);
      },
    };
    let lastReportMs = performance.now();
    for (let start = 0; start < spec.connections; start += spec.connectConcurrency) {
      const batch = Math.min(spec.connectConcurrency, spec.connections - start);
      const attempts = Array.from({ length: batch }, () => this.client.connect(spec.host, spec.port, handlers));
      for (const attempt of await Promise.allSettled(attempts)) {
        if (attempt.status === "fulfilled") this.connections.push(attempt.value);
        else {
          this.connectFailures++;
          this.recordError(`connect failed: ${String(attempt.reason?.message ?? attempt.reason)}`);
        }
      }
      if (performance.now() - lastReportMs > progressIntervalMs) {
        lastReportMs = performance.now();
        onProgress({ phase: "connecting", sent: 0, received: 0, connected: this.connections.length });
      }
    }
  }

  sendPhase(): Promise<void> {
    const spec = this.spec;
    const total = Math.floor(spec.ratePerSecond * spec.durationSeconds);
    if (total === 0 || this.connections.length === 0) return Bun.sleep(spec.durationSeconds * 1000);
    this.scheduler = new OpenLoopScheduler(spec.ratePerSecond, nowUs() + 1000, total);
    return new Promise((resolve) => {
      this.resolveSendPhase = resolve;
      this.schedule(0);
      // The send phase ends on time even when backpressure kept messages back: those are
      // reported as "not sent" (the offered load the system could not take), not waited for.
      // 20 ms of grace so a late final tick still sends what was due inside the duration.
      this.deadlineTimer = setTimeout(() => this.endSendPhase(), spec.durationSeconds * 1000 + 20);
    });
  }

  private endSendPhase(): void {
    this.sendingOver = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    this.resolveSendPhase?.();
    this.resolveSendPhase = null;
  }

  private immediate(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    setImmediate(this.tickBound);
  }

  private schedule(delayMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.tickBound, delayMs);
  }

  private tick(): void {
    this.timer = null;
    const scheduler = this.scheduler!;
    if (this.blocked || this.stopping || this.sendingOver) return;
    const connections = this.connections;
    const connectionCount = connections.length;
    let due = scheduler.dueCount(nowUs(), sendBatchMax);
    const firstTouched = scheduler.sentCount % connectionCount;
    const touched = Math.min(due, connectionCount);
    for (; due > 0; due--) {
      const messageIndex = scheduler.sentCount;
      const local = messageIndex % connectionCount;
      const sequence = this.sequences[local];
      writeMessageHeader(this.sendBuffer, sequence, this.spec.firstConnection + local, scheduler.nextDueUs(), nowUs());
      if (!connections[local].send(this.sendBuffer)) {
        // Backpressure: the message stays due; its intended time keeps counting.
        this.blocked = true;
        this.backpressureWaits++;
        break;
      }
      this.sequences[local] = sequence + 1;
      scheduler.take();
    }
    this.flush(firstTouched, touched);
    if (scheduler.finished) {
      this.endSendPhase();
      return;
    }
    // Blocked connections resume on drain; the retry timer covers systems whose drain is lazy.
    if (this.blocked) {
      this.timer = setTimeout(() => {
        this.blocked = false;
        this.tick();
      }, 1);
      return;
    }
    const waitUs = scheduler.nextDueUs() - nowUs();
    if (this.spec.pacing === "precise" && waitUs < 1500) this.immediate();
    else this.schedule(waitUs > 1000 ? Math.floor(waitUs / 1000) - (this.spec.pacing === "precise" ? 1 : 0) : 0);
  }

  /** Round-robin sends touched `count` connections from `first` on: flush only those. */
  private flush(first: number, count: number): void {
    const connectionCount = this.connections.length;
    for (let i = 0; i < count; i++) this.connections[(first + i) % connectionCount].flush();
  }

  sentTotal(): number {
    return this.scheduler?.sentCount ?? 0;
  }

  async drainPhase(): Promise<void> {
    const deadlineMs = performance.now() + this.spec.drainSeconds * 1000;
    const sent = this.sentTotal();
    // Bounded by the drain deadline; ends early once everything sent came back.
    while (performance.now() < deadlineMs && this.tracker.unique < sent) await Bun.sleep(20);
  }

  close(): void {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const connection of this.connections) {
      try {
        connection.close();
      } catch (error) {
        this.recordError(`close: ${(error as Error).message}`);
      }
    }
    this.client.close();
  }
}

export async function runWorkload(spec: WorkloadSpec, onProgress: (progress: WorkloadProgress) => void): Promise<WorkerResult> {
  if (spec.sizeBytes < messageHeaderBytes) throw new Error(`--size must be at least ${messageHeaderBytes} bytes (the message header)`);
  const run = new WorkloadRun(spec, createSystemClient(spec));
  await run.connectAll(onProgress);
  const cpuStart = process.cpuUsage();
  const startUs = nowUs();
  const progress = (phase: WorkloadProgress["phase"]) =>
    onProgress({ phase, sent: run.sentTotal(), received: run.tracker.unique, connected: run.connections.length });
  progress("sending");
  const progressTimer = setInterval(() => progress(run.scheduler?.finished ? "draining" : "sending"), progressIntervalMs);
  try {
    await run.sendPhase();
    await run.drainPhase();
  } finally {
    clearInterval(progressTimer);
  }
  const endUs = Math.max(run.lastReceiveUs, startUs + spec.durationSeconds * 1e6 * (run.sentTotal() > 0 ? 0 : 1));
  const cpu = process.cpuUsage(cpuStart);
  const transport = run.client.transportStats();
  run.close();
  return {
    system: spec.system,
    connections: run.connections.length,
    connectFailures: run.connectFailures,
    connectionsClosedEarly: run.closedEarly,
    sent: run.sentTotal(),
    notSent: Math.max(0, (run.scheduler?.totalMessages ?? 0) - run.sentTotal()),
    received: run.tracker.unique,
    duplicates: run.tracker.duplicates,
    untracked: run.tracker.untracked,
    backpressureWaits: run.backpressureWaits,
    sizeBytes: spec.sizeBytes,
    activeSeconds: Math.max(1e-6, (endUs - (run.scheduler?.startUs ?? startUs)) / 1e6),
    rttHistogramBase64: hdr.encodeIntoCompressedBase64(run.rtt),
    serviceHistogramBase64: hdr.encodeIntoCompressedBase64(run.service),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rssBytes: process.memoryUsage.rss(),
    transport,
    errors: run.errors,
  };
}
