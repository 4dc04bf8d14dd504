// Limits under attack, over real sockets: the connection limit answers with REJECT
// (server-full) and counts it; a peer that opens many fragmented messages and never finishes
// them runs into the reassembly limit, which is counted, instead of into the server's memory.
import { afterEach, expect, test } from "bun:test";
import { createServer, type RudpServer } from "../../src/index.ts";
import type { Engine as RudpEngine } from "../../src/protocol/api.ts";
import { writeMessageHeader } from "../../src/protocol/wire/frames.ts";
import { RawPeer, rawHandshake, sendFrames } from "../../tools/fuzz/rawPeer.ts";
import { craftInitial, PacketType, parseLong, randomConnectionId, retryCookie } from "../../tools/fuzz/wireCraft.ts";

let server: RudpServer | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
});

test("connection limit: the connection over maxConnections gets REJECT server-full, counted by limit and reason", async () => {
  server = createServer({ host: "127.0.0.1", port: 0, maxConnections: 2 });
  const { port } = await server.listen();
  const peers: RawPeer[] = [];
  for (let i = 0; i < 2; i++) {
    const peer = await RawPeer.open({ host: "127.0.0.1", port }, `127.60.0.${i + 1}`);
    peers.push(peer);
    await rawHandshake(peer);
  }
  const extra = await RawPeer.open({ host: "127.0.0.1", port }, "127.60.0.3");
  peers.push(extra);
  const id = randomConnectionId();
  extra.send(craftInitial(id, null));
  const retry = await extra.take((d) => d[0] === PacketType.retry, 2000);
  extra.send(craftInitial(id, retryCookie(parseLong(retry!)!)));
  const reject = await extra.take((d) => d[0] === PacketType.reject || d[0] === PacketType.handshake, 2000);
  const counters = server.endpoint!.engine.counters;
  console.log(`[limits] third connection answered with type ${reject?.[0]} (reject=${PacketType.reject}); limitRefusals ${JSON.stringify(counters.limitRefusals)}, handshakesFailed ${JSON.stringify(counters.handshakesFailed)}`);
  expect(reject?.[0]).toBe(PacketType.reject);
  expect(parseLong(reject!)!.body[0]).toBe(6); // closeReasonCode("server-full")
  expect(counters.limitRefusals.connections).toBe(1);
  expect(counters.handshakesFailed["server-full"]).toBe(1);
  expect(counters.connectionsActive).toBe(2);
  for (const peer of peers) peer.close();
});

test("reassembly limit: 400 fragmented messages opened and never finished are refused past the limit, counted", async () => {
  const maxMessageBytes = 16_000;
  const reassemblyBytesPerConnection = 64 * 1024;
  server = createServer({ host: "127.0.0.1", port: 0, maxMessageBytes, reassemblyBytesPerConnection });
  const { port } = await server.listen();
  const peer = await RawPeer.open({ host: "127.0.0.1", port });
  const connection = await rawHandshake(peer);
  const fragmentCount = 16;
  const fragmentBytes = maxMessageBytes / fragmentCount;
  const frame = new Uint8Array(64 + fragmentBytes);
  // The engine-wide gauge of bytes held by partial messages (Endpoint.reassemblyBytesInUse).
  const engine = server.endpoint!.engine as RudpEngine & { readonly reassemblyBytesInUse: number };
  Bun.gc(true);
  const heapBeforeBytes = process.memoryUsage().heapUsed;
  let heldMaxBytes = 0;
  for (let messageId = 0; messageId < 400; messageId++) {
    // reliable-unordered (mode 1): every message is reassembled on its own; only fragment 0 ever comes.
    const p = writeMessageHeader(frame, 0, 1, 3, messageId, 0, fragmentCount, maxMessageBytes, fragmentBytes);
    sendFrames(connection, frame.subarray(0, p + fragmentBytes));
    if (messageId % 32 === 31) {
      await Bun.sleep(5);
      heldMaxBytes = Math.max(heldMaxBytes, engine.reassemblyBytesInUse);
    }
  }
  await Bun.sleep(300);
  heldMaxBytes = Math.max(heldMaxBytes, engine.reassemblyBytesInUse);
  Bun.gc(true);
  const heapGrowthBytes = process.memoryUsage().heapUsed - heapBeforeBytes;
  const counters = engine.counters;
  const refused = (counters.limitRefusals.reassembly ?? 0) + (counters.drops["reassembly-limit"] ?? 0) + (counters.drops["receive-buffer-full"] ?? 0);
  const openedBytes = 400 * maxMessageBytes;
  console.log(
    `[limits] 400 x fragment 0 of ${fragmentCount} (${openedBytes / 1024} KiB of messages opened vs ${reassemblyBytesPerConnection / 1024} KiB limit): ` +
      `held at most ${heldMaxBytes} B, ${engine.reassemblyBytesInUse} B at the end; JS heap +${(heapGrowthBytes / 1024).toFixed(0)} KiB; ` +
      `limitRefusals ${JSON.stringify(counters.limitRefusals)}, drops ${JSON.stringify(counters.drops)}`,
  );
  // The memory held for partial messages stayed within the limit, and the limit was reached:
  // four 16,000 B messages fit in 64 KiB, the fifth does not.
  expect(heldMaxBytes).toBeLessThanOrEqual(reassemblyBytesPerConnection);
  expect(engine.reassemblyBytesInUse).toBe(4 * maxMessageBytes);
  expect(refused).toBeGreaterThan(0);
  // Had every opened message been held, the heap would have grown by 6.1 MiB.
  expect(heapGrowthBytes).toBeLessThan(openedBytes / 4);
  peer.close();
});
