// Optimistic ACKs and ACKs for packets never sent: a peer that claims to have received what
// the server never sent is lying (to inflate the congestion window, or it is broken). The
// server must close that connection with "protocol-violation", say so on the wire, and count it.
// Crafted with the engine's own codec from a raw socket that completed a real handshake.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type RudpServer } from "../../src/index.ts";
import { RawPeer, rawHandshake, sendFrames, type RawConnection } from "../../tools/fuzz/rawPeer.ts";
import { ackFrame, concatBytes, messageFrame, parseData, PacketType } from "../../tools/fuzz/wireCraft.ts";

let server: RudpServer;
let port = 0;

beforeAll(async () => {
  server = createServer({ host: "127.0.0.1", port: 0 });
  server.on("connection", (connection) => connection.on("message", (channel, data) => connection.send(channel, data)));
  server.on("disconnect", (connection) => serverCloseReasons.push(connection.closeInfo?.reason ?? "?"));
  port = (await server.listen()).port;
});

const serverCloseReasons: string[] = [];

/** The connection's state is released (and counted) after its closing period: poll for it. */
async function waitForViolationCount(count: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (closedByViolation() < count && performance.now() - started < timeoutMs) await Bun.sleep(20);
  return performance.now() - started;
}

/** The server-side "disconnect" comes after the closing period; waits for `count` of them. */
async function waitForServerCloses(count: number, timeoutMs: number): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  while (serverCloseReasons.length < count && performance.now() < deadline) await Bun.sleep(20);
  return serverCloseReasons.slice();
}

afterAll(async () => {
  await server.close();
});

function closedByViolation(): number {
  return server.endpoint!.engine.counters.connectionsClosed["protocol-violation"] ?? 0;
}

async function openRaw(): Promise<RawConnection> {
  const peer = await RawPeer.open({ host: "127.0.0.1", port });
  return rawHandshake(peer);
}

/** Waits for the server's CLOSE frame on this raw connection; returns its reason or null. */
async function closeReasonFromServer(connection: RawConnection, timeoutMs: number): Promise<string | null> {
  const datagram = await connection.peer.take((d) => d[0] === PacketType.data && parseData(d)?.closeReason != null, timeoutMs);
  return datagram === null ? null : parseData(datagram)!.closeReason;
}

test("raw handshake control: a well-behaved raw connection gets its echo and is not closed", async () => {
  const connection = await openRaw();
  sendFrames(connection, messageFrame(0, 0, new TextEncoder().encode("hello")));
  const echo = await connection.peer.take((d) => (parseData(d)?.messages.length ?? 0) > 0, 2000);
  expect(echo).not.toBeNull();
  const reply = parseData(echo!)!;
  expect(new TextDecoder().decode(reply.messages[0]!.payload)).toBe("hello");
  // A truthful ACK for what we received keeps the connection open.
  sendFrames(connection, ackFrame(reply.packetNumber));
  expect(await closeReasonFromServer(connection, 300)).toBeNull();
  connection.peer.close();
});

test("an ACK for a packet number the server never sent closes with protocol-violation", async () => {
  const before = closedByViolation();
  const connection = await openRaw();
  sendFrames(connection, ackFrame(1_000_000));
  const reason = await closeReasonFromServer(connection, 2000);
  console.log(`[ack violation] ACK of pn 1,000,000 right after the handshake -> CLOSE reason ${reason}; closed by protocol-violation ${before} -> ${closedByViolation()}`);
  expect(reason).toBe("protocol-violation");
  expect(await waitForServerCloses(1, 5000)).toEqual(["protocol-violation"]);
  const releasedMs = await waitForViolationCount(before + 1, 5000);
  console.log(`[ack violation] connection state released ${releasedMs.toFixed(0)} ms after the CLOSE`);
  expect(closedByViolation()).toBe(before + 1);
  expect(server.endpoint!.engine.counters.drops["protocol-violation"]).toBeGreaterThanOrEqual(1);
  connection.peer.close();
});

test("an optimistic ACK (ahead of what was received) mid-connection closes with protocol-violation", async () => {
  const before = closedByViolation();
  const connection = await openRaw();
  // Get real traffic flowing first: ten echoes, each acknowledged truthfully.
  let largestReceived = -1;
  for (let i = 0; i < 10; i++) {
    sendFrames(connection, messageFrame(0, i, new Uint8Array(200).fill(i)));
    const echo = await connection.peer.take((d) => (parseData(d)?.messages.length ?? 0) > 0, 2000);
    expect(echo).not.toBeNull();
    largestReceived = Math.max(largestReceived, parseData(echo!)!.packetNumber);
    sendFrames(connection, ackFrame(largestReceived));
  }
  // Now claim 64 packets beyond the last one we saw (all within one ACK range).
  sendFrames(connection, concatBytes(ackFrame(largestReceived + 64, 64)));
  const reason = await closeReasonFromServer(connection, 2000);
  console.log(`[ack violation] optimistic ACK of ${largestReceived + 64} after receiving up to ${largestReceived} -> CLOSE reason ${reason}`);
  expect(reason).toBe("protocol-violation");
  expect(await waitForServerCloses(2, 5000)).toEqual(["protocol-violation", "protocol-violation"]);
  await waitForViolationCount(before + 1, 5000);
  expect(closedByViolation()).toBe(before + 1);
  connection.peer.close();
});

test("an ACK for a packet number the server skipped (inside the range it did send) closes with protocol-violation", async () => {
  // The engine skips a packet number every 32-255 packets so that an optimistic ACK, which
  // claims whole ranges, must sooner or later claim one that never existed. Receive until we
  // see such a hole, acknowledging only what really arrived, then claim the hole.
  const before = closedByViolation();
  const connection = await openRaw();
  const received = new Set<number>();
  let runStart = -1;
  let largest = -1;
  let hole = -1;
  for (let i = 0; i < 1000 && hole < 0; i++) {
    sendFrames(connection, messageFrame(0, i, new Uint8Array(16).fill(i & 0xff)));
    const echo = await connection.peer.take((d) => (parseData(d)?.messages.length ?? 0) > 0, 2000);
    expect(echo).not.toBeNull();
    let largestSeen = largest;
    for (const datagram of [echo!, ...connection.peer.inbox.splice(0)]) {
      const packet = parseData(datagram);
      if (packet === null) continue;
      received.add(packet.packetNumber);
      largestSeen = Math.max(largestSeen, packet.packetNumber);
    }
    for (let pn = largest + 1; pn <= largestSeen; pn++) {
      if (!received.has(pn)) {
        hole = pn; // below the largest received and absent: skipped (loopback does not lose)
        break;
      }
      if (runStart < 0) runStart = pn;
      largest = pn;
    }
    // Truthful: only the contiguous run we really received.
    if (largest >= 0) sendFrames(connection, ackFrame(largest, largest - runStart));
  }
  expect(hole).toBeGreaterThanOrEqual(0);
  sendFrames(connection, ackFrame(hole));
  const reason = await closeReasonFromServer(connection, 2000);
  console.log(`[ack violation] skipped packet number ${hole} found after ${received.size} packets; ACK of it -> CLOSE reason ${reason}`);
  expect(reason).toBe("protocol-violation");
  await waitForViolationCount(before + 1, 5000);
  expect(closedByViolation()).toBe(before + 1);
  connection.peer.close();
});
