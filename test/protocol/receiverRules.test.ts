// The receiver's rules per delivery mode (PROTOCOL.md §4 "Receiver rules"), played by a forged
// peer: message IDs count per channel *and* mode, fragments are bounded by the receiver itself.
import { describe, expect, test } from "bun:test";
import { ForgedPeer, messageFrame } from "./forge.ts";
import { Pair } from "./pair.ts";
import { FragmentVerdict, Reassembly } from "../../src/protocol/connection/reassembly.ts";

const ORDERED = 0, UNORDERED = 1, UNRELIABLE = 2, SEQUENCED = 3;
const text = (s: string) => new TextEncoder().encode(s);
const received = (pair: Pair, channel = 5) => pair.messages("server", channel).map((m) => new TextDecoder().decode(m));

function forgedPair(seed: number): { pair: Pair; peer: ForgedPeer } {
  const pair = new Pair({}, {}, seed);
  const peer = new ForgedPeer(pair);
  pair.connect();
  pair.drive(100_000);
  expect(pair.serverEvents.some((e) => e.type === "connected")).toBe(true);
  expect(peer.serverId).not.toBe(0n);
  return { pair, peer };
}

describe("message IDs count per channel and delivery mode", () => {
  test("reliable-ordered 0, unreliable 0, reliable-ordered 1 on one channel: all three delivered, in order", () => {
    const { pair, peer } = forgedPair(11);
    peer.send([messageFrame(ORDERED, 5, 0, text("o0"))]);
    peer.send([messageFrame(UNRELIABLE, 5, 0, text("u0"))]);
    peer.send([messageFrame(ORDERED, 5, 1, text("o1"))]);
    expect(received(pair)).toEqual(["o0", "u0", "o1"]);
  });

  test("every mode on one channel, interleaved: each mode's sequence is its own", () => {
    const { pair, peer } = forgedPair(12);
    peer.send([messageFrame(SEQUENCED, 5, 0, text("s0")), messageFrame(ORDERED, 5, 0, text("o0"))]);
    peer.send([messageFrame(UNORDERED, 5, 0, text("r0")), messageFrame(SEQUENCED, 5, 1, text("s1"))]);
    peer.send([messageFrame(ORDERED, 5, 1, text("o1")), messageFrame(UNORDERED, 5, 1, text("r1"))]);
    peer.send([messageFrame(ORDERED, 5, 1, text("o1 again")), messageFrame(SEQUENCED, 5, 0, text("s0 stale"))]);
    expect(received(pair)).toEqual(["s0", "o0", "r0", "s1", "o1", "r1"]);
  });

  test("a gap in one mode's sequence holds only that mode (ordered 0, ordered 2 waits for 1)", () => {
    const { pair, peer } = forgedPair(13);
    peer.send([messageFrame(ORDERED, 5, 0, text("o0")), messageFrame(ORDERED, 5, 2, text("o2"))]);
    peer.send([messageFrame(UNRELIABLE, 5, 1, text("u1"))]);
    expect(received(pair)).toEqual(["o0", "u1"]);
    peer.send([messageFrame(ORDERED, 5, 1, text("o1"))]);
    expect(received(pair)).toEqual(["o0", "u1", "o1", "o2"]);
  });

  test("fragmented messages with the same ID in two modes on one channel reassemble separately", () => {
    const { pair, peer } = forgedPair(14);
    const frag = (mode: number, index: number, s: string) => messageFrame(mode, 5, 0, text(s), { index, count: 2, total: 4 });
    peer.send([frag(ORDERED, 0, "ab"), frag(UNRELIABLE, 0, "wx")]);
    peer.send([frag(UNRELIABLE, 1, "yz"), frag(ORDERED, 1, "cd")]);
    expect(received(pair)).toEqual(["wxyz", "abcd"]);
    expect(pair.server.counters.drops.malformed ?? 0).toBe(0);
  });
});

describe("Reassembly.add bounds its own input", () => {
  const budget = { reassemblyBytesInUse: 0, reassemblyBytesTotalMax: 1 << 20, onReassemblyEvicted() {} };
  const add = (r: Reassembly, index: number, count: number, total: number, length: number) =>
    r.add(0, 1, 7, ORDERED, index, count, total, new Uint8Array(length).fill(index + 1), 0, length);

  test("fragmentIndex == fragmentCount is malformed and cannot complete a message with a hole", () => {
    const r = new Reassembly(budget, 1 << 20, 1 << 20);
    expect(add(r, 2, 2, 4, 2)).toBe(FragmentVerdict.malformed);
    expect(add(r, 0, 2, 4, 2)).toBe(FragmentVerdict.pending);
    expect(r.completed).toBeNull();
    expect(add(r, 1, 2, 4, 2)).toBe(FragmentVerdict.complete);
    expect([...r.completed!.buffer]).toEqual([1, 1, 2, 2]);
  });

  test("a wrong length, a count below 2 and an empty last fragment are malformed", () => {
    const r = new Reassembly(budget, 1 << 20, 1 << 20);
    expect(add(r, 0, 2, 4, 3)).toBe(FragmentVerdict.malformed);
    expect(add(r, 0, 1, 4, 4)).toBe(FragmentVerdict.malformed);
    expect(add(r, 0, 4, 6, 2)).toBe(FragmentVerdict.malformed); // 2+2+2+0
    expect(r.partialCount).toBe(0);
  });
});
