// Progress timeout (issue 13): a connection with data waiting whose peer acknowledges none of
// it, or keeps its window shut, for progressTimeoutUs is closed as "stalled"; answered PINGs
// and keepalives do not count as progress, and an idle connection with nothing waiting stays.
import { describe, expect, test } from "bun:test";
import { ForgedPeer } from "./forge.ts";
import { Pair } from "./pair.ts";

const KIB = 1024;
const PROGRESS_US = 5_000_000;

function connected(pair: Pair, forUs = 100_000): { client: number; server: number } {
  const client = pair.connect();
  pair.drive(forUs);
  const serverEvent = pair.serverEvents.find((e) => e.type === "connected");
  expect(serverEvent).toBeDefined();
  return { client, server: serverEvent!.connection };
}

function serverClosed(pair: Pair) {
  return pair.serverEvents.find((e) => e.type === "closed");
}

describe("progress timeout", () => {
  test("a peer that keeps its window shut (never reads) is closed as stalled, keepalives answered meanwhile", () => {
    const config = { maxMessageBytes: 8 * KIB, receiveWindowBytes: 32 * KIB, progressTimeoutUs: PROGRESS_US };
    const pair = new Pair(config, config, 41);
    const { server } = connected(pair);
    pair.pollClientEvents = false; // the client's application reads nothing: its window stays shut
    for (let i = 0; i < 100; i++) expect(pair.server.send(server, 0, new Uint8Array(1000))).toBe("queued");
    pair.drive(PROGRESS_US - 500_000);
    expect(serverClosed(pair)).toBeUndefined();
    const stats = pair.server.connectionStats(server)!;
    expect(stats.messagesSent).toBe(32); // the window's worth, acknowledged; the rest waits
    expect(stats.packetsReceived).toBeGreaterThan(3); // the client keeps talking (ACKs, keepalives)
    pair.drive(1_500_000);
    expect(serverClosed(pair)).toMatchObject({ reason: "stalled" });
    expect(serverClosed(pair)!.message).toContain("acknowledged none");
    expect(pair.server.counters.connectionsClosed.stalled).toBe(1);
    expect(pair.server.counters.connectionsActive).toBe(0);
  });

  test("a peer that never acknowledges data but sends PINGs is closed as stalled", () => {
    const config = { progressTimeoutUs: PROGRESS_US };
    const pair = new Pair(config, config, 42);
    const forged = new ForgedPeer(pair);
    const { server } = connected(pair);
    forged.silenced = true; // the real client hears nothing more: no ACK of our data comes back
    expect(pair.server.send(server, 0, new Uint8Array(3000))).toBe("queued");
    for (let second = 0; second < 4; second++) {
      forged.send([{ kind: "ping" }]); // heard (no idle timeout), answered with an ACK
      pair.drive(1_000_000);
    }
    expect(serverClosed(pair)).toBeUndefined();
    for (let second = 0; second < 3; second++) {
      forged.send([{ kind: "ping" }]);
      pair.drive(1_000_000);
    }
    expect(serverClosed(pair)).toMatchObject({ reason: "stalled" });
    pair.drive(3_000_000); // the closing period (3 PTO) ends before the endpoint forgets it
    expect(pair.server.counters.connectionsClosed).toEqual({ stalled: 1 });
  });

  test("an idle connection with nothing waiting, or one whose data is acknowledged, is not closed", () => {
    const config = { progressTimeoutUs: PROGRESS_US };
    const pair = new Pair(config, config, 43);
    const { server } = connected(pair);
    pair.drive(4 * PROGRESS_US);
    for (let i = 0; i < 20; i++) {
      expect(pair.server.send(server, 0, new Uint8Array(500))).toBe("queued");
      pair.drive(PROGRESS_US / 2);
    }
    pair.drive(4 * PROGRESS_US);
    expect(serverClosed(pair)).toBeUndefined();
    expect(pair.messages("client").length).toBe(20);
    expect(pair.server.counters.connectionsClosed).toEqual({});
  });
});

describe("progress timeout: recovery making progress is not a stall", () => {
  // Sweep seeds 47/407 closed as stalled: unreliable messages waited in the queue behind the
  // congestion window on a lossy, slow path while the peer acknowledged every packet that
  // arrived; their ACKs free no queued bytes (unreliable bytes leave when sent), yet they are
  // progress. This rebuilds it: 300 ms one way, every 5th datagram to the client lost.
  test("cwnd-limited unreliable data on a lossy path, acknowledged as it arrives, is not closed", () => {
    const config = { progressTimeoutUs: 2_000_000, channelModes: { 1: "unreliable" as const } };
    const pair = new Pair(config, config, 44);
    pair.oneWayDelayUs = 300_000;
    const { server } = connected(pair, 2_000_000);
    pair.dropFilter = (direction, _bytes, index) => direction === "toClient" && index % 5 === 0;
    let queued = 0;
    for (let i = 0; i < 150; i++) if (pair.server.send(server, 1, new Uint8Array(1100)) === "queued") queued++;
    expect(queued).toBe(150);
    pair.drive(8_000_000);
    const sentSoFar = pair.server.connectionStats(server)!.messagesSent;
    expect(sentSoFar).toBeLessThan(queued); // still waiting behind the window after 4 timeouts' worth
    // At this loss the window stays small (~3 messages/s): slow, but every RTT something arrives.
    for (let k = 0; k < 40 && pair.server.connectionStats(server)!.messagesSent < queued; k++) pair.drive(5_000_000);
    expect(serverClosed(pair)).toBeUndefined();
    expect(pair.server.connectionStats(server)!.messagesSent).toBe(queued);
    expect(pair.server.counters.connectionsClosed).toEqual({});
  });
});
