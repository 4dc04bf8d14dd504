// How much JS heap one idle server connection costs: opens N raw connections (real
// handshakes) to an in-process server, collects garbage before and after, prints the
// difference per connection (the raw peers' own small objects are included).
//
//   bun tools/soak/connectionMemory.ts [--connections 500]
import { parseArgs } from "node:util";
import { createServer } from "../../src/index.ts";
import { RawPeer, rawHandshake } from "../fuzz/rawPeer.ts";

const { values } = parseArgs({ options: { connections: { type: "string", default: "500" } } });
const count = Math.min(20_000, Number(values.connections));
const server = createServer({ host: "127.0.0.1", port: 0, maxConnections: count + 1 });
const { port } = await server.listen();
const peers: RawPeer[] = [];
const settle = async () => {
  Bun.gc(true);
  await Bun.sleep(100);
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
};
const first = await RawPeer.open({ host: "127.0.0.1", port });
await rawHandshake(first); // warm the paths once
peers.push(first);
const before = await settle();
for (let i = 0; i < count; i++) {
  const peer = await RawPeer.open({ host: "127.0.0.1", port }, `127.70.${(i >>> 8) & 0xff}.${(i & 0xff) || 1}`);
  await rawHandshake(peer);
  peers.push(peer);
}
const after = await settle();
console.log(JSON.stringify({
  connections: server.endpoint!.engine.counters.connectionsActive,
  heapBytesPerConnection: Math.round((after - before) / count),
  heapBeforeBytes: before,
  heapAfterBytes: after,
}));
for (const peer of peers) peer.close();
await server.close();
