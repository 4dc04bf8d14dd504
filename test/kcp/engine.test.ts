// The KCP engine: ikcp.c's own datagrams in, its ACKs out; two engines against each other on
// the simulated network under loss, duplication and reordering; and the limits KCP lacks.
import { describe, expect, test } from "bun:test";
import type { EngineEvent, PeerAddress, TransmitInfo } from "../../src/protocol/api.ts";
import { createKcpEngine, fastKcpTuning } from "../../src/protocol/kcp/index.ts";
import { emptySegmentHeader, KcpCommand, readSegmentHeader, SEGMENT_HEADER_BYTES, writeSegmentHeader } from "../../src/protocol/kcp/segment.ts";
import { perfectLink } from "../sim/network.ts";
import { hex, ikcpVectors } from "./vectors.ts";
import { KcpSimulation } from "./kcpSimulation.ts";

const client: PeerAddress = { family: 4, host: "10.0.0.2", port: 40000 };
const noRandom = { randomBytes: (out: Uint8Array) => out.fill(7) };

function drainEvents(engine: { pollEvent(): EngineEvent | null }): { type: string; connection: number; text?: string; reason?: string }[] {
  const out: { type: string; connection: number; text?: string; reason?: string }[] = [];
  for (let event = engine.pollEvent(); event !== null; event = engine.pollEvent()) {
    if (event.type === "message") out.push({ type: "message", connection: event.connection, text: new TextDecoder().decode(event.data) });
    else if (event.type === "closed") out.push({ type: "closed", connection: event.connection, reason: event.reason });
    else out.push({ type: event.type, connection: event.connection });
  }
  return out;
}

function transmits(engine: { pollTransmit(now: number, out: Uint8Array, info: TransmitInfo): boolean }, nowUs: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buffer = new Uint8Array(2048);
  const info: TransmitInfo = { length: 0, to: null };
  while (engine.pollTransmit(nowUs, buffer, info)) out.push(buffer.slice(0, info.length));
  return out;
}

function segmentsOf(datagram: Uint8Array): ReturnType<typeof emptySegmentHeader>[] {
  const list = [];
  for (let at = 0; at < datagram.length; ) {
    const header = emptySegmentHeader();
    readSegmentHeader(datagram, at, header);
    list.push(header);
    at += SEGMENT_HEADER_BYTES + header.len;
  }
  return list;
}

describe("KCP engine against ikcp.c's datagrams", () => {
  test("a session starts, messages (one fragmented) are delivered, ACKs echo sn and ts", () => {
    const engine = createKcpEngine({ role: "server", ...fastKcpTuning, mtuBytes: 60 }, noRandom);
    for (const vector of [ikcpVectors.hello, ikcpVectors.fragment1, ikcpVectors.fragment0]) engine.handleDatagram(2_000_000, hex(vector), client);
    const events = drainEvents(engine);
    expect(events.map((e) => e.type)).toEqual(["connected", "message", "message"]);
    expect(events[1].text).toBe("hello");
    expect(events[2].text).toBe("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?");
    const out = transmits(engine, 2_000_000);
    const acks = out.flatMap(segmentsOf);
    expect(acks.map((s) => [s.cmd, s.sn, s.ts, s.una, s.conv])).toEqual([
      [KcpCommand.ack, 0, 1000, 3, 0x11223344],
      [KcpCommand.ack, 1, 1000, 3, 0x11223344],
      [KcpCommand.ack, 2, 1000, 3, 0x11223344],
    ]);
    expect(out.every((d) => d.length <= 60)).toBe(true);
    expect(engine.counters.connectionsActive).toBe(1);
  });

  test("fragments out of order are held and joined; duplicates are acknowledged again, not delivered twice", () => {
    const engine = createKcpEngine({ role: "server" }, noRandom);
    engine.handleDatagram(1_000_000, hex(ikcpVectors.hello), client);
    engine.handleDatagram(1_000_000, hex(ikcpVectors.fragment0), client);
    expect(drainEvents(engine).map((e) => e.type)).toEqual(["connected", "message"]);
    engine.handleDatagram(1_000_000, hex(ikcpVectors.hello), client);
    engine.handleDatagram(1_000_000, hex(ikcpVectors.fragment1), client);
    const events = drainEvents(engine);
    expect(events.map((e) => e.text?.length)).toEqual([64]);
    expect(engine.counters.receiveBufferedBytes).toBe(0);
  });

  test("a datagram that does not start a conversation is dropped, not a new session", () => {
    const engine = createKcpEngine({ role: "server" }, noRandom);
    engine.handleDatagram(1_000_000, hex(ikcpVectors.fragment1), client);
    expect(engine.counters.drops["unknown-session"]).toBe(1);
    expect(engine.counters.connectionsOpened).toBe(0);
    engine.handleDatagram(1_000_000, new Uint8Array([1, 2, 3]), client);
    expect(engine.counters.drops.malformed).toBe(1);
    expect(drainEvents(engine)).toEqual([]);
  });

  test("a message of more fragments than the receive window closes the session as a protocol violation", () => {
    const engine = createKcpEngine({ role: "server", receiveWindow: 4 }, noRandom);
    const datagram = new Uint8Array(5 * (SEGMENT_HEADER_BYTES + 1));
    for (let i = 0; i < 5; i++) writeSegmentHeader(datagram, i * 25, 9, KcpCommand.push, 9 - i, 32, 0, i, 0, 1);
    engine.handleDatagram(1_000_000, datagram, client);
    const events = drainEvents(engine);
    expect(events.map((e) => [e.type, e.reason])).toEqual([["connected", undefined], ["closed", "protocol-violation"]]);
    expect(engine.counters.receiveBufferedBytes).toBe(0);
  });
});

interface PairOptions {
  seed: number;
  lossRate: number;
  messages: number;
  maxMessageBytes: number;
}

/** A client sends `messages` messages; the server echoes each; the client must get every echo
 *  exactly once, intact, in order. */
function runEchoPair(options: PairOptions): { sim: KcpSimulation; received: Uint8Array[]; sent: Uint8Array[] } {
  const link = { ...perfectLink(), lossRate: options.lossRate, duplicateRate: 0.02, delayUs: 5_000, jitterMeanUs: 2_000 };
  const sim = new KcpSimulation(options.seed, link);
  const tuning = { ...fastKcpTuning, sendWindow: 128, receiveWindow: 128 };
  const server = sim.addEndpoint("10.0.0.1", 4000, { role: "server", ...tuning });
  const clientEnd = sim.addEndpoint("10.0.0.2", 50000, { role: "client", ...tuning });
  server.onMessage = (connection, data) => {
    expect(server.engine.send(connection, 0, data)).toBe("queued");
  };
  const connection = clientEnd.engine.connect(sim.nowUs, server.address);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < options.messages; i++) {
    const size = 1 + sim.prng.below(options.maxMessageBytes);
    const message = new Uint8Array(size);
    for (let k = 0; k < size; k++) message[k] = (i * 31 + k) & 0xff;
    sent.push(message);
  }
  // The client sends what its buffer takes and the rest on "drain" (checked by the engine).
  let next = 0;
  let refused = 0;
  const sendMore = (): void => {
    while (next < sent.length) {
      const result = clientEnd.engine.send(connection, 0, sent[next]);
      if (result === "buffer-full") {
        refused++;
        return;
      }
      expect(result).toBe("queued");
      next++;
    }
  };
  clientEnd.onDrain = sendMore;
  sendMore();
  sim.pump(clientEnd);
  sim.runUntil(() => clientEnd.messages.length >= options.messages, 300_000_000);
  expect(next).toBe(sent.length);
  return { sim, received: clientEnd.messages.map((m) => m.data), sent };
}

describe("KCP engine against itself on the simulated network", () => {
  for (const [lossRate, seeds] of [[0, [1]], [0.1, [2, 3, 4]], [0.3, [5]]] as const) {
    for (const seed of seeds) {
      test(`echo of 200 messages up to 20 fragments, ${lossRate * 100}% loss, seed ${seed}`, () => {
        const { sim, received, sent } = runEchoPair({ seed, lossRate, messages: 200, maxMessageBytes: 20 * 1376 });
        expect(received.length, `seed=${seed}`).toBe(sent.length);
        for (let i = 0; i < sent.length; i++) expect(Buffer.compare(received[i], sent[i]), `seed=${seed} message ${i}`).toBe(0);
        const [server] = [...(sim as unknown as { endpoints: Map<PeerAddress, { engine: { counters: { packetsRetransmitted: number } } }> }).endpoints.values()];
        if (lossRate > 0) expect(server.engine.counters.packetsRetransmitted).toBeGreaterThan(0);
      });
    }
  }
});

describe("what KCP lacks, added without changing the wire", () => {
  test("send() refuses beyond the per-session buffer and 'drain' follows once acknowledged", () => {
    const sim = new KcpSimulation(11);
    const server = sim.addEndpoint("10.0.0.1", 4000, { role: "server", ...fastKcpTuning });
    const clientEnd = sim.addEndpoint("10.0.0.2", 50000, { role: "client", ...fastKcpTuning, sendBufferBytesPerSession: 10_000 });
    const connection = clientEnd.engine.connect(sim.nowUs, server.address);
    const message = new Uint8Array(3000);
    const results = [1, 2, 3, 4].map(() => clientEnd.engine.send(connection, 0, message));
    expect(results).toEqual(["queued", "queued", "queued", "buffer-full"]);
    expect(clientEnd.engine.counters.limitRefusals["send-buffer"]).toBe(1);
    expect(clientEnd.engine.bufferedBytes(connection)).toBe(9000);
    sim.pump(clientEnd);
    sim.runUntil(() => clientEnd.events.some((e) => e.type === "drain"), 5_000_000);
    expect(clientEnd.engine.bufferedBytes(connection)).toBeLessThanOrEqual(5000);
    expect(server.messages.length).toBeGreaterThanOrEqual(2);
  });

  test("a peer that goes silent ends the session after the dead-peer timeout, with an event", () => {
    const sim = new KcpSimulation(12);
    const server = sim.addEndpoint("10.0.0.1", 4000, { role: "server", deadPeerTimeoutMs: 3_000 });
    const clientEnd = sim.addEndpoint("10.0.0.2", 50000, { role: "client", deadPeerTimeoutMs: 60_000 });
    const connection = clientEnd.engine.connect(sim.nowUs, server.address);
    clientEnd.engine.send(connection, 0, new Uint8Array(10));
    sim.pump(clientEnd);
    sim.runFor(1_000_000);
    expect(server.events.map((e) => e.type)).toEqual(["connected"]);
    const startUs = sim.nowUs;
    sim.runUntil(() => server.events.length === 2, 10_000_000);
    expect(server.events[1]).toMatchObject({ type: "closed", reason: "idle-timeout" });
    expect(server.events[1].message).toContain("keepalive");
    expect(sim.nowUs - startUs).toBeGreaterThan(1_500_000);
    expect(server.engine.counters.connectionsActive).toBe(0);
    expect(server.engine.pollTimeout()).toBe(Infinity);
  });

  test("ikcp's dead link: a segment sent deadLinkTransmissions times unacknowledged ends the session", () => {
    const link = { ...perfectLink(), blackholes: [{ startUs: 0, endUs: 1e12 }] };
    const sim = new KcpSimulation(13, link);
    const server = sim.addEndpoint("10.0.0.1", 4000, { role: "server" });
    const clientEnd = sim.addEndpoint("10.0.0.2", 50000, { role: "client", ...fastKcpTuning, deadLinkTransmissions: 5 });
    const connection = clientEnd.engine.connect(sim.nowUs, server.address);
    clientEnd.engine.send(connection, 0, new Uint8Array(10));
    sim.pump(clientEnd);
    sim.runUntil(() => clientEnd.events.some((e) => e.type === "closed"), 30_000_000);
    const closed = clientEnd.events.find((e) => e.type === "closed");
    expect(closed).toMatchObject({ reason: "idle-timeout" });
    expect(closed?.message).toContain("dead-link");
    expect(clientEnd.engine.counters.deadLinks).toBe(1);
    expect(clientEnd.engine.counters.packetsRetransmitted).toBe(4);
  });

  test("session limits: total, and new sessions per source IP per second, each counted", () => {
    const engine = createKcpEngine({ role: "server", maxSessions: 3, sessionsPerSourcePerSecondMax: 2 }, noRandom);
    const first = (conv: number) => {
      const datagram = hex(ikcpVectors.hello);
      new DataView(datagram.buffer).setUint32(0, conv, true);
      return datagram;
    };
    const from = (host: string, port: number): PeerAddress => ({ family: 4, host, port });
    engine.handleDatagram(1_000_000, first(1), from("10.0.0.9", 1));
    engine.handleDatagram(1_000_000, first(2), from("10.0.0.9", 2));
    engine.handleDatagram(1_000_000, first(3), from("10.0.0.9", 3)); // third from one IP in one second
    expect(engine.counters.limitRefusals["sessions-per-source"]).toBe(1);
    engine.handleDatagram(2_100_000, first(3), from("10.0.0.9", 3)); // next second: allowed
    engine.handleDatagram(2_100_000, first(4), from("10.0.0.8", 1)); // fourth session overall
    expect(engine.counters.limitRefusals["sessions-total"]).toBe(1);
    expect(engine.counters.connectionsActive).toBe(3);
    // The same source with the same conv is one session: no new session, no refusal.
    engine.handleDatagram(2_200_000, first(1), from("10.0.0.9", 1));
    expect(engine.counters.connectionsOpened).toBe(3);
  });

  test("a message bigger than the peer's advertised window is refused as too large, not stalled", () => {
    const engine = createKcpEngine({ role: "server" }, noRandom);
    engine.handleDatagram(1_000_000, hex(ikcpVectors.hello), client); // wnd 128
    const [connected] = drainEvents(engine);
    expect(engine.send(connected.connection, 0, new Uint8Array(127 * 1376))).toBe("queued");
    expect(engine.send(connected.connection, 0, new Uint8Array(127 * 1376 + 1))).toBe("too-large");
    expect(() => engine.send(connected.connection, 1, new Uint8Array(1))).toThrow(/channel 0/);
  });

  test("graceful close waits for the peer to acknowledge, abortive close does not", () => {
    const sim = new KcpSimulation(14);
    const server = sim.addEndpoint("10.0.0.1", 4000, { role: "server", ...fastKcpTuning });
    const clientEnd = sim.addEndpoint("10.0.0.2", 50000, { role: "client", ...fastKcpTuning });
    const connection = clientEnd.engine.connect(sim.nowUs, server.address);
    // 37 fragments: more than the window a peer is assumed to have before it says (kcp-go's 32).
    expect(clientEnd.engine.send(connection, 0, new Uint8Array(50_000))).toBe("too-large");
    clientEnd.engine.send(connection, 0, new Uint8Array(40_000));
    clientEnd.engine.close(connection, "graceful", true);
    expect(clientEnd.engine.send(connection, 0, new Uint8Array(1))).toBe("closed");
    sim.pump(clientEnd);
    sim.runUntil(() => clientEnd.events.some((e) => e.type === "closed"), 5_000_000);
    expect(server.messages.map((m) => m.data.length)).toEqual([40_000]);
    expect(clientEnd.events.at(-1)).toMatchObject({ type: "closed", reason: "graceful" });
    expect(clientEnd.engine.counters.sendBufferedBytes).toBe(0);
  });
});
