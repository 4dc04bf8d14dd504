// The loss counters mean what their names say (issue 17): packetsRetransmitted counts packets
// that carried a retransmission, framesRetransmitted the message frames in them, and the
// ratios' denominator (ackElicitingPacketsSent) leaves ACK-only packets out.
import { expect, test } from "bun:test";
import { Pair } from "./pair.ts";

function connectedPair(): { pair: Pair; client: number } {
  const pair = new Pair({ channelModes: { 0: "reliable-ordered" } }, { channelModes: { 0: "reliable-ordered" } }, 11);
  const client = pair.connect();
  pair.drive(100_000);
  expect(pair.clientEvents.some((e) => e.type === "connected")).toBe(true);
  return { pair, client };
}

test("one lost packet of 16 small messages: 1 packet retransmitted, 16 frames", () => {
  const { pair, client } = connectedPair();
  const before = { ...pair.client.connectionStats(client)! };
  // The first data packet after the handshake is dropped once; everything else arrives.
  let dropped = 0;
  pair.dropFilter = (direction, bytes) => {
    if (direction !== "toServer" || dropped > 0 || bytes.length < 16 * 64) return false;
    dropped++;
    return true;
  };
  for (let i = 0; i < 16; i++) expect(pair.client.send(client, 0, new Uint8Array(64).fill(i))).toBe("queued");
  pair.drive(3_000_000);
  expect(dropped).toBe(1);
  expect(pair.messages("server", 0).length).toBe(16);

  const after = pair.client.connectionStats(client)!;
  const packetsRetransmitted = after.packetsRetransmitted - before.packetsRetransmitted;
  const framesRetransmitted = after.framesRetransmitted - before.framesRetransmitted;
  // The 16 frames shared one packet; their retransmission fits one packet too (1200 B MTU).
  expect(packetsRetransmitted).toBe(1);
  expect(framesRetransmitted).toBe(16);
  expect(pair.client.counters.packetsRetransmitted).toBe(after.packetsRetransmitted);
  expect(pair.client.counters.framesRetransmitted).toBe(after.framesRetransmitted);
});

test("ACK-only packets are not in the ack-eliciting count", () => {
  const { pair, client } = connectedPair();
  for (let i = 0; i < 200; i++) pair.client.send(client, 0, new Uint8Array(64).fill(i & 0xff));
  pair.drive(2_000_000);
  expect(pair.messages("server", 0).length).toBe(200);
  // The server sent only ACKs (and handshake packets): few of its packets elicit an ACK.
  const server = pair.server.counters;
  expect(server.ackElicitingPacketsSent).toBeLessThan(server.datagramsSent);
  const clientStats = pair.client.connectionStats(client)!;
  expect(clientStats.ackElicitingPacketsSent).toBeGreaterThan(0);
  expect(clientStats.ackElicitingPacketsSent).toBeLessThanOrEqual(clientStats.packetsSent);
  expect(clientStats.packetsRetransmitted).toBe(0);
});
