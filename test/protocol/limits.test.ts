// Limits on what network input can make the engine hold: reassembly memory per connection
// and in total (counted refusals and evictions; reliable data still arrives).
import { describe, expect, test } from "bun:test";
import type { Endpoint } from "../../src/protocol/endpoint.ts";
import { decodeDatagram } from "../../src/protocol/wire/codec.ts";
import { crc32c, Pair } from "./pair.ts";

const KIB = 1024;

function connected(pair: Pair): number {
  const client = pair.connect();
  pair.drive(100_000);
  expect(pair.serverEvents.some((e) => e.type === "connected")).toBe(true);
  return client;
}

/** Drives in small steps, recording the most reassembly memory the server ever held. */
function driveWatchingReassembly(pair: Pair, durationUs: number): number {
  const server = pair.server as Endpoint;
  let most = 0;
  for (let t = 0; t < durationUs; t += 5_000) {
    pair.drive(5_000);
    most = Math.max(most, server.reassemblyBytesInUse);
  }
  return most;
}

describe("reassembly limits", () => {
  test("per connection: refusals are counted, memory stays bounded, reliable messages still complete", () => {
    const modes = { 1: "reliable-unordered" } as const;
    const server = { maxMessageBytes: 64 * KIB, reassemblyBytesPerConnection: 64 * KIB, channelModes: modes };
    const pair = new Pair(server, { maxMessageBytes: 64 * KIB, channelModes: modes }, 51);
    const handle = connected(pair);
    // Loss makes fragments of consecutive messages interleave: two partials then compete for 64 KiB.
    let n = 0;
    pair.dropFilter = (direction) => direction === "toServer" && ++n % 9 === 0;
    for (let i = 0; i < 6; i++) expect(pair.client.send(handle, 1, new Uint8Array(60 * KIB).fill(i + 1))).toBe("queued");
    const most = driveWatchingReassembly(pair, 20_000_000);
    const got = pair.messages("server", 1);
    expect(got.length).toBe(6);
    expect(new Set(got.map((m) => m[0]))).toEqual(new Set([1, 2, 3, 4, 5, 6]));
    expect(pair.server.counters.limitRefusals.reassembly).toBeGreaterThan(0);
    expect(pair.server.counters.drops["reassembly-limit"]).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(64 * KIB);
    expect((pair.server as Endpoint).reassemblyBytesInUse).toBe(0);
  });

  test("in total: partial unreliable messages are evicted to make room, and counted", () => {
    const modes = { 2: "unreliable" } as const;
    const server = { maxMessageBytes: 32 * KIB, reassemblyBytesPerConnection: 32 * KIB, reassemblyBytesTotal: 32 * KIB, channelModes: modes };
    const pair = new Pair(server, { maxMessageBytes: 32 * KIB, channelModes: modes }, 52);
    const handle = connected(pair);
    // Drop every packet that carries a message's last fragment: no message can complete.
    pair.dropFilter = (direction, bytes) => {
      if (direction !== "toServer") return false;
      const decoded = decodeDatagram(bytes, crc32c);
      if (!decoded.ok || decoded.packet.type !== "data") return false;
      return decoded.packet.frames.some((f) => f.kind === "message" && f.fragmentIndex === f.fragmentCount - 1);
    };
    for (let i = 0; i < 10; i++) expect(pair.client.send(handle, 2, new Uint8Array(30 * KIB).fill(i))).toBe("queued");
    const most = driveWatchingReassembly(pair, 2_000_000);
    expect(pair.messages("server", 2).length).toBe(0);
    expect(most).toBeLessThanOrEqual(32 * KIB);
    expect(pair.server.counters.limitRefusals["reassembly-eviction"]).toBeGreaterThanOrEqual(9);
  });

  test("a fragment claiming a message larger than maxMessageBytes is dropped as malformed", () => {
    const pair = new Pair({ maxMessageBytes: 16 * KIB }, { maxMessageBytes: 64 * KIB }, 53);
    const handle = connected(pair);
    pair.client.send(handle, 0, new Uint8Array(40 * KIB));
    pair.drive(500_000);
    expect(pair.messages("server").length).toBe(0);
    expect(pair.server.counters.drops.malformed).toBeGreaterThan(0);
    expect((pair.server as Endpoint).reassemblyBytesInUse).toBe(0);
  });
});
