// The engine keeps no module-level state: each endpoint computes checksums with its own
// dependencies. Two pairs of engines live in one process, sharing the same `crc32c` function
// object but with different prefix checksums (one standard CRC32C, one deliberately
// different); each pair must use only its own, and both must work.
import { expect, test } from "bun:test";
import { DatagramChecksum, checksumMatches } from "../../src/protocol/wire/packet.ts";
import { Pair, crc32c } from "./pair.ts";

const standard = new DatagramChecksum(crc32c);

function countingPrefix(transform: (crc: number) => number): { prefix: (data: Uint8Array, length: number) => number; calls: number } {
  const counter = {
    calls: 0,
    prefix: (data: Uint8Array, length: number) => {
      counter.calls++;
      return transform(crc32c(data.subarray(0, length))) >>> 0;
    },
  };
  return counter;
}

function exchange(pair: Pair, text: string): string {
  const connection = pair.connect();
  pair.drive(200_000);
  expect(pair.client.send(connection, 0, new TextEncoder().encode(text))).toBe("queued");
  pair.drive(200_000);
  const got = pair.messages("server")[0];
  return got === undefined ? "" : new TextDecoder().decode(got);
}

test("two engine pairs with different checksum dependencies in one process each use their own", () => {
  const a = countingPrefix((crc) => crc);
  const b = countingPrefix((crc) => crc ^ 0x5a5a5a5a);
  const pairA = new Pair({}, {}, 1, { server: { crc32c, crc32cPrefix: a.prefix }, client: { crc32c, crc32cPrefix: a.prefix } });
  // Built after A: with a shared registry this would have replaced A's checksum path.
  const pairB = new Pair({}, {}, 2, { server: { crc32c, crc32cPrefix: b.prefix }, client: { crc32c, crc32cPrefix: b.prefix } });
  const seen = { a: [] as boolean[], b: [] as boolean[] };
  pairA.dropFilter = (_, bytes) => (seen.a.push(checksumMatches(bytes, standard)), false);
  pairB.dropFilter = (_, bytes) => (seen.b.push(checksumMatches(bytes, standard)), false);

  const aCallsBefore = a.calls;
  expect(exchange(pairA, "from A")).toBe("from A");
  const bCallsBefore = b.calls;
  expect(exchange(pairB, "from B")).toBe("from B");
  expect(a.calls).toBeGreaterThan(aCallsBefore);
  expect(b.calls).toBeGreaterThan(bCallsBefore);

  // A's datagrams carry the standard trailer; B's carry its own, which a standard peer refuses.
  expect(seen.a.length).toBeGreaterThan(2);
  expect(seen.a.every(Boolean)).toBe(true);
  expect(seen.b.length).toBeGreaterThan(2);
  expect(seen.b.some(Boolean)).toBe(false);

  // And A still works after B ran.
  const aCallsMid = a.calls;
  const connection = pairA.serverEvents.find((e) => e.type === "connected")!.connection;
  expect(pairA.server.send(connection, 0, new TextEncoder().encode("again"))).toBe("queued");
  pairA.drive(200_000);
  expect(pairA.messages("client").map((m) => new TextDecoder().decode(m))).toContain("again");
  expect(a.calls).toBeGreaterThan(aCallsMid);
  expect(pairA.client.counters.drops.checksum ?? 0).toBe(0);
});
