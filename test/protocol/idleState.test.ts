// Per-connection state allocated on first use (issue 13, point 1): an idle connection holds
// no send buffer, no message slots and no 256-entry channel tables; they appear with the first
// message, shrink back when a burst is over, and channel tables hold only the channels used.
import { expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { SendQueue } from "../../src/protocol/connection/sendQueue.ts";
import { ChannelMap } from "../../src/protocol/connection/channelMap.ts";
import { EnqueueResult } from "../../src/protocol/connection/sendQueue.ts";
import { Pair } from "./pair.ts";

const MIB = 1024 * 1024;

test("a send queue holds nothing until the first message, and gives a burst's buffer back once emptied", () => {
  const queue = new SendQueue(4 * MIB, 4 * MIB, 1 << 16, 1100);
  expect(queue.bytes.length).toBe(0);
  expect(queue.channel.length).toBe(0);
  expect(queue.enqueue(3, 0, new Uint8Array(100))).toBe(EnqueueResult.queued);
  expect(queue.bytes.length).toBe(2048);
  expect(queue.channel.length).toBe(16);
  expect(queue.channelBytes(3)).toBe(100);
  expect(queue.channelBytes(4)).toBe(0);
  for (let i = 0; i < 200; i++) expect(queue.enqueue(3, 2, new Uint8Array(1000))).toBe(EnqueueResult.queued); // unreliable
  expect(queue.bytes.length).toBeGreaterThan(64 * 1024);
  for (let serial = 0; serial <= 200; serial++) queue.onFragmentSent(queue.slotOf(serial)); // unreliable: done when sent
  expect(queue.isEmpty()).toBe(false); // the reliable one waits for its ACK
  queue.ackFragment(0, 0);
  expect(queue.isEmpty()).toBe(true);
  expect(queue.liveBytes).toBe(0);
  expect(queue.bytes.length).toBe(0); // released
  expect(queue.enqueue(3, 0, new Uint8Array(10))).toBe(EnqueueResult.queued); // and grows again
  expect(queue.channelBytes(3)).toBe(10);
});

test("channel map: only channels used are stored, values found again after others", () => {
  const map = new ChannelMap<number>();
  expect(map.get(7)).toBeUndefined();
  for (const channel of [7, 0, 255, 9]) map.set(channel, channel * 10);
  map.set(0, 1);
  expect([map.get(7), map.get(0), map.get(255), map.get(9), map.get(8)]).toEqual([70, 1, 2550, 90, undefined]);
  expect(map.size).toBe(4);
});

test("idle connections: engine heap per connection (server and client side together) stays under 16 KiB (was 50 KiB)", () => {
  const count = 400;
  const pair = new Pair({ maxConnections: count + 10 }, { maxConnections: count + 10 }, 61);
  pair.collectEvents = false;
  pair.connect();
  pair.drive(100_000); // warm every code path once
  Bun.gc(true);
  const before = heapStats().heapSize;
  for (let batch = 0; batch < count / 100; batch++) { // the stateless reply queue takes 256 at once
    for (let i = 0; i < 100; i++) pair.connect();
    pair.drive(100_000);
  }
  expect(pair.server.counters.connectionsActive).toBe(count + 1);
  pair.drive(12_000_000); // keepalives go both ways: the rings have been used
  expect(pair.server.counters.connectionsActive).toBe(count + 1);
  Bun.gc(true);
  const perConnection = (heapStats().heapSize - before) / count;
  console.log(`[idle state] engine heap per idle connection (both sides): ${Math.round(perConnection)} B`);
  expect(perConnection).toBeLessThan(16 * 1024); // 50 KiB with the 256-entry tables and 64-slot rings; 11 KiB after
});
