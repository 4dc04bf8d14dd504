// A single-connection transfer of small messages between two engines in virtual time, with
// no network in between: what the protocol engine alone costs per message. Shared by
// bench/protocol.bench.ts (throughput, heap) so both measure the same loop.
import { crc32c as nodeRsCrc32c } from "@node-rs/crc32";
import { checksumKernelName, crc32c as nativeCrc32c, native } from "../src/native/index.ts";
import { createEngine, type Engine, type PeerAddress, type TransmitInfo } from "../src/protocol/index.ts";

/** The CRC32C the runtime uses (Zig through bun:ffi, or its TypeScript fallback). */
export const crc32c = (data: Uint8Array): number => nativeCrc32c(data);
export const crc32cKernel = checksumKernelName;
/** CRC32C of a prefix straight through the FFI symbol: no view per datagram. */
export const crc32cPrefix: ((data: Uint8Array, length: number) => number) | undefined =
  native === null || native === undefined ? undefined : (data, length) => native!.rudp_crc32c(0, data, length);
export const crc32cNodeRs = (data: Uint8Array): number => nodeRsCrc32c(data as Buffer) >>> 0;

function seeded(seed: number): (out: Uint8Array) => void {
  let s = seed >>> 0 || 1;
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
  };
}

export interface TransferSetup {
  client: Engine;
  server: Engine;
  connection: number;
  nowUs: number;
}

const clientAddress: PeerAddress = { family: 4, host: "10.0.0.2", port: 5000 };
const serverAddress: PeerAddress = { family: 4, host: "10.0.0.1", port: 4000 };

/** Views of `buffer` by length, made once, so moving a datagram allocates nothing. */
class Views {
  private readonly views: Uint8Array[] = [];
  constructor(private readonly buffer: Uint8Array) {}
  of(length: number): Uint8Array {
    let view = this.views[length];
    if (view === undefined) view = this.views[length] = this.buffer.subarray(0, length);
    return view;
  }
}

export class Transfer {
  readonly client: Engine;
  readonly server: Engine;
  connection = 0;
  nowUs = 1_000;
  delivered = 0;
  deliveredBytes = 0;
  private readonly clientOut = new Uint8Array(2048);
  private readonly serverOut = new Uint8Array(2048);
  private readonly clientViews = new Views(this.clientOut);
  private readonly serverViews = new Views(this.serverOut);
  private readonly info: TransmitInfo = { length: 0, to: null };

  constructor(verifyChecksum = true) {
    const crc = crc32c;
    this.client = createEngine({ role: "client", congestionControl: "cubic", verifyChecksum }, { crc32c: crc, crc32cPrefix, randomBytes: seeded(1) });
    this.server = createEngine({ role: "server", congestionControl: "cubic", verifyChecksum }, { crc32c: crc, crc32cPrefix, randomBytes: seeded(2) });
    this.connection = this.client.connect(this.nowUs, serverAddress);
    for (let i = 0; i < 50; i++) this.exchange();
  }

  /** Moves every due datagram both ways once and drains both event queues. */
  exchange(): void {
    const { client, server, info } = this;
    const now = this.nowUs;
    for (let i = 0; i < 4096 && client.pollTransmit(now, this.clientOut, info); i++) {
      server.handleDatagram(now, this.clientViews.of(info.length), clientAddress);
    }
    for (let event = server.pollEvent(); event !== null; event = server.pollEvent()) {
      if (event.type === "message") {
        this.delivered++;
        this.deliveredBytes += event.length ?? event.data.length;
      }
    }
    for (let i = 0; i < 4096 && server.pollTransmit(now, this.serverOut, info); i++) {
      client.handleDatagram(now, this.serverViews.of(info.length), serverAddress);
    }
    for (let event = client.pollEvent(); event !== null; event = client.pollEvent());
    this.nowUs += 20; // 20 us of virtual time per exchange
    if (client.pollTimeout() <= this.nowUs) client.handleTimeout(this.nowUs);
    if (server.pollTimeout() <= this.nowUs) server.handleTimeout(this.nowUs);
  }

  /** Sends `messages` messages of `payload`, exchanging whenever the send buffer is full. */
  run(messages: number, payload: Uint8Array, batch = 512): void {
    const target = this.delivered + messages;
    let sent = 0;
    for (let guard = 0; guard < 100_000_000 && this.delivered < target; guard++) {
      for (let i = 0; i < batch && sent < messages; i++) {
        if (this.client.send(this.connection, 0, payload) !== "queued") break;
        sent++;
      }
      this.exchange();
    }
  }
}
