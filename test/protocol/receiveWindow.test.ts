// The receiver enforces the window it announced (PROTOCOL.md §6): reliable payload beyond it
// is a flow-control violation and closes the connection, as in QUIC. 64-byte messages, so a
// one-message overrun is not hidden by per-packet rounding.
import { describe, expect, test } from "bun:test";
import { ForgedPeer, messageFrame } from "./forge.ts";
import { Pair } from "./pair.ts";

const KIB = 1024;
const config = { maxMessageBytes: 16 * KIB, receiveWindowBytes: 32 * KIB };

function forgedPair(seed: number): { pair: Pair; peer: ForgedPeer } {
  const pair = new Pair(config, config, seed);
  pair.pollServerEvents = false; // the application takes nothing: the window never moves
  const peer = new ForgedPeer(pair);
  pair.connect();
  pair.drive(100_000);
  expect(peer.serverId).not.toBe(0n);
  return { pair, peer };
}

const serverClosed = (pair: Pair) => {
  pair.pollServerEvents = true;
  pair.flush();
  return pair.serverEvents.find((e) => e.type === "closed");
};

describe("receive window enforced by the receiver", () => {
  test("exactly the announced 32 KiB in 64-byte messages is accepted", () => {
    const { pair, peer } = forgedPair(31);
    for (let id = 0; id < 512; id += 16) peer.send(Array.from({ length: 16 }, (_, k) => messageFrame(1, 3, id + k, new Uint8Array(64))));
    expect(serverClosed(pair)).toBeUndefined();
    expect(pair.messages("server", 3).length).toBe(512);
  });

  test("one 64-byte message beyond it closes with protocol-violation", () => {
    const { pair, peer } = forgedPair(32);
    for (let id = 0; id < 512; id += 16) peer.send(Array.from({ length: 16 }, (_, k) => messageFrame(1, 3, id + k, new Uint8Array(64))));
    peer.send([messageFrame(1, 3, 512, new Uint8Array(64))]);
    expect(serverClosed(pair)).toMatchObject({ reason: "protocol-violation" });
    expect(pair.messages("server", 3).length).toBe(512);
  });

  test("a retransmitted (duplicate) message does not count twice", () => {
    const { pair, peer } = forgedPair(33);
    for (let round = 0; round < 3; round++) {
      for (let id = 0; id < 512; id += 16) peer.send(Array.from({ length: 16 }, (_, k) => messageFrame(0, 3, id + k, new Uint8Array(64))));
    }
    expect(serverClosed(pair)).toBeUndefined();
  });

  test("fragments beyond the window close too", () => {
    const { pair, peer } = forgedPair(34);
    // 40 KiB in 10 KiB-total messages of 10 fragments of 1 KiB: the fourth message passes 32 KiB.
    for (let id = 0; id < 4; id++) {
      for (let index = 0; index < 10; index++) peer.send([messageFrame(0, 4, id, new Uint8Array(1024), { index, count: 10, total: 10 * 1024 })]);
    }
    expect(serverClosed(pair)).toMatchObject({ reason: "protocol-violation" });
  });

  test("the engine's own sender never overruns it (600 x 64 B into 32 KiB, application not reading)", () => {
    const pair = new Pair(config, config, 35);
    pair.pollServerEvents = false;
    const client = pair.connect();
    pair.drive(100_000);
    let queued = 0;
    for (let i = 0; i < 600; i++) if (pair.client.send(client, 0, new Uint8Array(64)) === "queued") queued++;
    expect(queued).toBe(600);
    pair.drive(2_000_000);
    expect(serverClosed(pair)).toBeUndefined();
    expect(pair.messages("server", 0).length).toBe(512); // the rest wait for MAX_DATA
    pair.drive(2_000_000);
    expect(pair.messages("server", 0).length).toBe(600);
  });
});
