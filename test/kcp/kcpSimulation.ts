// KCP engines on the deterministic simulated network of test/sim (seeded loss, duplication,
// jitter that reorders), in virtual time. Every loop is bounded.
import type { EngineEvent, PeerAddress, TransmitInfo } from "../../src/protocol/api.ts";
import { createKcpEngine, type KcpEngine } from "../../src/protocol/kcp/index.ts";
import type { KcpEngineConfig } from "../../src/protocol/kcp/config.ts";
import { type LinkImpairments, perfectLink, SimNetwork } from "../sim/network.ts";
import { Prng } from "../sim/prng.ts";

export interface ReceivedMessage {
  connection: number;
  data: Uint8Array;
  atUs: number;
}

export class SimKcpEndpoint {
  readonly messages: ReceivedMessage[] = [];
  readonly events: { type: string; connection: number; reason?: string; message?: string }[] = [];
  onMessage: ((connection: number, data: Uint8Array) => void) | null = null;
  onDrain: ((connection: number) => void) | null = null;

  constructor(
    readonly engine: KcpEngine,
    readonly address: PeerAddress,
  ) {}
}

export class KcpSimulation {
  nowUs = 1_000_000;
  readonly network: SimNetwork;
  readonly prng: Prng;
  private readonly endpoints = new Map<PeerAddress, SimKcpEndpoint>();
  private readonly buffer = new Uint8Array(65_536);
  private readonly info: TransmitInfo = { length: 0, to: null };

  constructor(
    readonly seed: number,
    impairments: LinkImpairments = perfectLink(),
  ) {
    this.prng = new Prng(seed);
    this.network = new SimNetwork(this.prng.fork(), impairments);
  }

  addEndpoint(host: string, port: number, config: Partial<KcpEngineConfig>): SimKcpEndpoint {
    const random = this.prng.fork();
    const engine = createKcpEngine(config, {
      randomBytes: (out) => {
        for (let i = 0; i < out.length; i++) out[i] = random.below(256);
      },
    });
    const address: PeerAddress = { family: 4, host, port };
    const endpoint = new SimKcpEndpoint(engine, address);
    this.endpoints.set(address, endpoint);
    return endpoint;
  }

  /** Events, then transmits: the order the runtime's pump follows. */
  pump(endpoint: SimKcpEndpoint): void {
    const engine = endpoint.engine;
    for (let event = engine.pollEvent(); event !== null; event = engine.pollEvent()) this.record(endpoint, event);
    for (let sent = 0; engine.pollTransmit(this.nowUs, this.buffer, this.info); sent++) {
      if (sent > 1_000_000) throw new Error(`seed=${this.seed}: runaway transmit loop`);
      this.network.send(this.nowUs, endpoint.address, this.info.to as PeerAddress, this.buffer.subarray(0, this.info.length));
    }
    // Sends made while handling events (echo) are flushed by the loop above; events they
    // caused are picked up on the next pump.
  }

  private record(endpoint: SimKcpEndpoint, event: EngineEvent): void {
    if (event.type === "message") {
      const data = event.data.slice();
      endpoint.messages.push({ connection: event.connection, data, atUs: this.nowUs });
      endpoint.onMessage?.(event.connection, data);
      return;
    }
    if (event.type === "closed") {
      endpoint.events.push({ type: "closed", connection: event.connection, reason: event.reason, message: event.message });
      return;
    }
    endpoint.events.push({ type: event.type, connection: event.connection });
    if (event.type === "drain") endpoint.onDrain?.(event.connection);
  }

  /** Advances to the next arrival or deadline (at most `untilUs`); false when nothing is left. */
  step(untilUs: number): boolean {
    let next = this.network.nextArrivalUs();
    for (const endpoint of this.endpoints.values()) next = Math.min(next, endpoint.engine.pollTimeout());
    if (next === Infinity || next > untilUs) {
      this.nowUs = Math.max(this.nowUs, Math.min(untilUs, next));
      return false;
    }
    this.nowUs = Math.max(this.nowUs, next);
    for (let datagram = this.network.takeDue(this.nowUs); datagram !== null; datagram = this.network.takeDue(this.nowUs)) {
      const endpoint = this.endpoints.get(datagram.to);
      if (endpoint) endpoint.engine.handleDatagram(this.nowUs, datagram.bytes, datagram.from);
    }
    for (const endpoint of this.endpoints.values()) {
      endpoint.engine.handleTimeout(this.nowUs);
      this.pump(endpoint);
      this.pump(endpoint);
    }
    return true;
  }

  /** Runs until `done()` or `durationUs` of virtual time passed; bounded in steps too. */
  steps = 0;

  runUntil(done: () => boolean, durationUs: number, stepsMax = 2_000_000): boolean {
    const endUs = this.nowUs + durationUs;
    for (let steps = 0; steps < stepsMax; steps++, this.steps++) {
      if (done()) return true;
      if (!this.step(endUs) && this.nowUs >= endUs) return done();
    }
    throw new Error(`seed=${this.seed}: ${stepsMax} steps without finishing`);
  }

  /** Runs for `durationUs` of virtual time. */
  runFor(durationUs: number): void {
    this.runUntil(() => false, durationUs);
  }
}
