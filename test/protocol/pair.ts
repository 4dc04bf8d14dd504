// A client and a server engine joined by an in-memory link with a virtual clock, in the
// shape of quinn's test Pair: every drive loop is bounded in steps, and links can delay,
// drop (by predicate) or reorder datagrams deterministically.
import { crc32c as nativeCrc32c } from "@node-rs/crc32";
import { createEngine, type Engine, type EngineConfig, type EngineDependencies, type PeerAddress, type TransmitInfo } from "../../src/protocol/index.ts";

export const crc32c = (data: Uint8Array): number => nativeCrc32c(data) >>> 0;

/** Deterministic randomBytes from a seed (xorshift32). */
export function seededRandom(seed: number): (out: Uint8Array) => void {
  let state = (seed | 1) >>> 0;
  return (out: Uint8Array) => {
    for (let i = 0; i < out.length; i++) {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      out[i] = state & 0xff;
    }
  };
}

export function deps(seed: number): EngineDependencies {
  return { crc32c, randomBytes: seededRandom(seed) };
}

export interface CollectedEvent {
  type: string;
  connection: number;
  channel?: number;
  data?: Uint8Array;
  reason?: string;
  closeCode?: number;
  message?: string;
}

export type Direction = "toServer" | "toClient";
interface InFlight {
  deliverAtUs: number;
  direction: Direction;
  bytes: Uint8Array;
  sequence: number;
}

export class Pair {
  nowUs = 1_000_000;
  readonly server: Engine;
  readonly client: Engine;
  readonly serverAddress: PeerAddress = { family: 4, host: "10.0.0.1", port: 4000 };
  readonly clientAddress: PeerAddress = { family: 4, host: "10.0.0.2", port: 5000 };
  oneWayDelayUs = 500;
  /** Return true to drop the datagram (called once per datagram, in send order). */
  dropFilter: ((direction: Direction, bytes: Uint8Array, index: number) => boolean) | null = null;
  /** Extra delay per datagram (reordering when it varies). */
  jitterUs: ((direction: Direction, index: number) => number) | null = null;
  readonly serverEvents: CollectedEvent[] = [];
  readonly clientEvents: CollectedEvent[] = [];
  readonly sentCount = { toServer: 0, toClient: 0 };
  readonly bytesSent = { toServer: 0, toClient: 0 };
  private readonly inFlight: InFlight[] = [];
  private sequence = 0;
  private readonly out = new Uint8Array(65536);
  private readonly info: TransmitInfo = { length: 0, to: null };
  collectEvents = true;
  /** false: the server application stops taking events (tests receive-window backpressure). */
  pollServerEvents = true;
  /** false: the client application stops taking events (its window closes). */
  pollClientEvents = true;

  /** `dependencies` replaces parts of each side's EngineDependencies (e.g. its checksum). */
  constructor(serverConfig: Partial<EngineConfig> = {}, clientConfig: Partial<EngineConfig> = {}, seed = 1,
      dependencies: { server?: Partial<EngineDependencies>; client?: Partial<EngineDependencies> } = {}) {
    // strictInvariants: an engine bug throws instead of being counted (src/protocol/invariant.ts).
    this.server = createEngine({ role: "server", strictInvariants: true, ...serverConfig }, { ...deps(seed), ...dependencies.server });
    this.client = createEngine({ role: "client", strictInvariants: true, ...clientConfig }, { ...deps(seed + 1000), ...dependencies.client });
  }

  connect(): number {
    return this.client.connect(this.nowUs, this.serverAddress);
  }

  /** Moves datagrams and time for `durationUs` of virtual time, at most `steps` iterations. */
  drive(durationUs = 2_000_000, steps = 200_000): number {
    const untilUs = this.nowUs + durationUs;
    let step = 0;
    for (; step < steps; step++) {
      const moved = this.flush();
      if (moved) continue;
      const next = this.nextEventUs();
      if (next === Infinity || next > untilUs) break;
      this.nowUs = Math.max(this.nowUs, next);
      this.server.handleTimeout(this.nowUs);
      this.client.handleTimeout(this.nowUs);
    }
    if (step < steps && this.nowUs < untilUs) this.nowUs = untilUs;
    return step;
  }

  /** Transmits everything due, delivers everything arrived, collects events. */
  flush(): boolean {
    let moved = false;
    for (let guard = 0; guard < 10_000 && this.pollTransmit(this.server, "toClient"); guard++) moved = true;
    for (let guard = 0; guard < 10_000 && this.pollTransmit(this.client, "toServer"); guard++) moved = true;
    this.inFlight.sort((a, b) => a.deliverAtUs - b.deliverAtUs || a.sequence - b.sequence);
    while (this.inFlight.length > 0 && this.inFlight[0].deliverAtUs <= this.nowUs) {
      const d = this.inFlight.shift()!;
      if (d.direction === "toServer") this.server.handleDatagram(this.nowUs, d.bytes, this.clientAddress);
      else this.client.handleDatagram(this.nowUs, d.bytes, this.serverAddress);
      moved = true;
    }
    if (this.pollServerEvents) this.collect(this.server, this.serverEvents);
    if (this.pollClientEvents) this.collect(this.client, this.clientEvents);
    return moved;
  }

  private pollTransmit(engine: Engine, direction: Direction): boolean {
    if (!engine.pollTransmit(this.nowUs, this.out, this.info)) return false;
    const index = this.sentCount[direction]++;
    this.bytesSent[direction] += this.info.length;
    const bytes = this.out.slice(0, this.info.length);
    if (this.dropFilter !== null && this.dropFilter(direction, bytes, index)) return true;
    const extra = this.jitterUs === null ? 0 : this.jitterUs(direction, index);
    this.inFlight.push({ deliverAtUs: this.nowUs + this.oneWayDelayUs + extra, direction, bytes, sequence: this.sequence++ });
    return true;
  }

  private nextEventUs(): number {
    let next = Math.min(this.server.pollTimeout(), this.client.pollTimeout());
    for (const d of this.inFlight) if (d.deliverAtUs < next) next = d.deliverAtUs;
    return next;
  }

  private collect(engine: Engine, into: CollectedEvent[]): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const event = engine.pollEvent();
      if (event === null) return;
      if (!this.collectEvents) continue;
      if (event.type === "message") into.push({ type: "message", connection: event.connection, channel: event.channel, data: event.data.slice() });
      else if (event.type === "closed") into.push({ type: "closed", connection: event.connection, reason: event.reason, closeCode: event.closeCode, message: event.message });
      else into.push({ type: event.type, connection: event.connection });
    }
  }

  messages(side: "server" | "client", channel?: number): Uint8Array[] {
    const events = side === "server" ? this.serverEvents : this.clientEvents;
    return events.filter((e) => e.type === "message" && (channel === undefined || e.channel === channel)).map((e) => e.data!);
  }
}
