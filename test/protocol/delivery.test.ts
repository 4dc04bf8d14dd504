// Two engines over an in-memory link with a virtual clock: every delivery mode under loss
// and reordering, fragmentation of a 1 MiB message, independence of channels.
import { describe, expect, test } from "bun:test";
import { Pair } from "./pair.ts";

function lossy(seed: number, lossRate: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000 < lossRate;
  };
}

function connected(pair: Pair): { client: number; server: number } {
  const client = pair.connect();
  pair.drive(100_000);
  const serverEvent = pair.serverEvents.find((e) => e.type === "connected");
  expect(serverEvent).toBeDefined();
  expect(pair.clientEvents.some((e) => e.type === "connected")).toBe(true);
  return { client, server: serverEvent!.connection };
}

const modes = { 0: "reliable-ordered", 1: "reliable-unordered", 2: "unreliable", 3: "unreliable-sequenced" } as const;

function message(channel: number, i: number): Uint8Array {
  const bytes = new Uint8Array(64);
  new DataView(bytes.buffer).setUint32(0, i);
  bytes[4] = channel;
  return bytes;
}
const idOf = (m: Uint8Array) => new DataView(m.buffer, m.byteOffset).getUint32(0);

describe("delivery modes", () => {
  test.each([1, 2, 3])("reliable-ordered delivers all, in order, under 10%% loss and jitter (seed %d)", (seed) => {
    const pair = new Pair({ channelModes: modes }, { channelModes: modes }, seed);
    const { client } = connected(pair);
    const drop = lossy(seed, 0.1);
    pair.dropFilter = () => drop();
    pair.jitterUs = (_d, i) => (i * 7919) % 3000;
    for (let i = 0; i < 2000; i++) expect(pair.client.send(client, 0, message(0, i))).toBe("queued");
    pair.drive(20_000_000);
    const got = pair.messages("server", 0).map(idOf);
    expect(got.length).toBe(2000);
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(pair.client.counters.packetsRetransmitted).toBeGreaterThan(0);
  });

  test("reliable-unordered delivers each message exactly once under loss", () => {
    const pair = new Pair({ channelModes: modes }, { channelModes: modes }, 7);
    const { client } = connected(pair);
    const drop = lossy(7, 0.15);
    pair.dropFilter = () => drop();
    for (let i = 0; i < 1500; i++) pair.client.send(client, 1, message(1, i));
    pair.drive(20_000_000);
    const got = pair.messages("server", 1).map(idOf);
    expect(new Set(got).size).toBe(1500);
    expect(got.length).toBe(1500);
  });

  test("unreliable loses some and never duplicates; unreliable-sequenced never goes backwards", () => {
    const pair = new Pair({ channelModes: modes }, { channelModes: modes }, 9);
    const { client } = connected(pair);
    const drop = lossy(9, 0.2);
    pair.dropFilter = () => drop();
    pair.jitterUs = (_d, i) => (i * 104729) % 4000; // heavy reordering
    for (let i = 0; i < 3000; i++) {
      pair.client.send(client, 2, message(2, i));
      pair.client.send(client, 3, message(3, i));
      if (i % 50 === 0) pair.drive(2_000);
    }
    pair.drive(5_000_000);
    const unreliable = pair.messages("server", 2).map(idOf);
    expect(unreliable.length).toBeGreaterThan(1500);
    expect(unreliable.length).toBeLessThan(3000);
    expect(new Set(unreliable).size).toBe(unreliable.length);
    const sequenced = pair.messages("server", 3).map(idOf);
    expect(sequenced.length).toBeGreaterThan(500);
    for (let i = 1; i < sequenced.length; i++) expect(sequenced[i]).toBeGreaterThan(sequenced[i - 1]);
  });

  test("a loss on one channel does not hold back another", () => {
    const pair = new Pair({}, {}, 11);
    const { client } = connected(pair);
    // Drop exactly the first data packet after this point, which carries channel 5's message.
    let dropped = false;
    pair.dropFilter = (direction, bytes) => {
      if (!dropped && direction === "toServer" && bytes[0] === 0x10 && bytes.length > 60) return (dropped = true);
      return false;
    };
    pair.client.send(client, 5, message(5, 1));
    pair.flush(); // the channel-5 packet is sent (and dropped)
    pair.client.send(client, 6, message(6, 2));
    pair.drive(1_500); // less than any retransmission timer
    expect(dropped).toBe(true);
    expect(pair.messages("server", 6).length).toBe(1);
    expect(pair.messages("server", 5).length).toBe(0);
    pair.drive(2_000_000);
    expect(pair.messages("server", 5).length).toBe(1);
  });

  test("a 1 MiB message is fragmented and reassembled under loss", () => {
    const pair = new Pair({}, {}, 13);
    const { client } = connected(pair);
    const drop = lossy(13, 0.05);
    pair.dropFilter = () => drop();
    const big = new Uint8Array(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >>> 8)) & 0xff;
    expect(pair.client.send(client, 0, big)).toBe("queued");
    expect(pair.client.send(client, 0, new Uint8Array(1024 * 1024 + 1))).toBe("too-large");
    pair.drive(30_000_000);
    const got = pair.messages("server", 0);
    expect(got.length).toBe(1);
    expect(got[0].length).toBe(big.length);
    expect(Buffer.compare(Buffer.from(got[0]), Buffer.from(big))).toBe(0);
    expect(pair.client.bufferedBytes(client)).toBe(0);
  });

  test("many small messages are coalesced into few datagrams", () => {
    const pair = new Pair({}, {}, 17);
    const { client } = connected(pair);
    const before = pair.sentCount.toServer;
    for (let i = 0; i < 1000; i++) pair.client.send(client, 0, message(0, i));
    pair.drive(2_000_000);
    expect(pair.messages("server", 0).length).toBe(1000);
    const datagrams = pair.sentCount.toServer - before;
    expect(datagrams).toBeLessThan(1000 / 10); // >= ~14 messages of 64 B per 1200 B datagram
  });
});
